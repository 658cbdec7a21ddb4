// Trains FaCT's bias-free TopK SAE on a stream of feature vectors: input-scale estimate, warm-up/constant/cosine
// learning rate, dead-latent counters for AuxK, progress, validation with best-checkpoint keeping, and cancellation
// that leaves a resumable state. A resumed run ends with exactly the weights of an uninterrupted one: the data order
// depends only on (seed, epoch), and everything else that changes during training is in the saved state.
import * as os from 'node:os';
import { cancelledError, FactError, isFactError } from '../errors';
import type { VectorSource } from '../features/vectorSource';
import { onnxruntimeVersion, type ExecutionProvider, type RequestedProvider } from '../onnx/session';
import {
  deleteTrainState,
  hasTrainState,
  loadSae,
  loadTrainState,
  saveSae,
  saveTrainState,
  type MetricSums,
  type SaeCheckpointCfg,
  type TrainState,
  type ValidationEntry,
  type ValidationRecord,
} from './checkpoint';
import { faultPoint } from '../util/faultPoint';
import { initialState } from './initialWeights';
import {
  defaultTrainSettings,
  learningRateAt,
  lrSchedule,
  resolveTrainSettings,
  type SaeConfig,
  type SaeWeights,
  type TrainSettings,
  type TrainSettingsInput,
} from './saeConfig';
import { TrainStepSession, type StepMetrics } from './trainStepSession';

export interface TrainProgress {
  /** Steps done, of totalSteps. */
  step: number;
  totalSteps: number;
  /** 0-based epoch of the last step, and its 0-based batch within the epoch. */
  epoch: number;
  batchInEpoch: number;
  lr: number;
  /** Averages over the steps since the previous report. */
  loss: number;
  mse: number;
  auxLoss: number;
  /** Fraction of variance unexplained: Σ‖e − ē‖² / Σ‖x − x̄‖² (per batch means, pooled). */
  fvu: number;
  /** Mean active latents per vector (k for TopK, less when fewer than k pre-activations are positive). */
  l0: number;
  /** Latents that have not fired in the last `deadAfterVectors` vectors. */
  dead: number;
  vectorsPerSecond: number;
  etaSeconds: number;
  /** Set on reports made right after a validation. */
  validation?: number;
}

export interface TrainOptions {
  checkpointDir: string;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  /** Scores the SAE (higher is better, e.g. accuracy with it inserted), optionally with the score's noise (e.g. its
   *  standard error); the checkpoint keeps the weights `selectionRule` names. Runs every `validateEvery` epochs and
   *  after the last; the arrays it gets must not be modified. */
  validate?: (weights: SaeWeights) => Promise<number | ValidationScore>;
  /** Continue from the training state in checkpointDir when there is one. */
  resume?: boolean;
  executionProvider?: RequestedProvider;
  /** Intra-op threads of the training step (default: defaultTrainThreads()). The same seed, data, settings and
   *  thread count give byte-identical weights on one machine; other thread counts give other (equally good) ones. */
  threads?: number;
  /** Minimum time between progress reports (default 1000 ms; 0 reports every step). */
  progressIntervalMs?: number;
  /** A resumable state is also saved this often (default 3 minutes), besides at every epoch end and on cancel: a
   *  killed run loses at most this much work. */
  stateIntervalMs?: number;
  /** Keep train-state.* after a finished run (default: deleted). */
  keepTrainState?: boolean;
}

export interface ValidationScore {
  score: number;
  /** Differences up to this are noise (e.g. one standard error of an accuracy). */
  tolerance: number;
}

/** The kept weights: those of the latest validated epoch whose score is within the best score's tolerance of the best
 *  so far. Later epochs have seen more data at a lower learning rate; a difference within the noise of the validation
 *  (2,000 images: ±0.5 points of accuracy) does not make an earlier one better, and ties go to the later one. */
export const selectionRule = 'latest epoch within tolerance of the best validation score';

/** Threads of the training step when none are given: every core. Measured (bench/saeThreads.bench.ts, README):
 *  the step is faster on all cores than on one at the default and at FaCT's ResNet-50 shapes. */
export function defaultTrainThreads(): number {
  return os.availableParallelism();
}

/** Training metrics over the last epoch (averages over its steps; FVU and L0 pooled over its vectors). */
export interface FinalTrainMetrics {
  loss: number;
  mse: number;
  auxLoss: number;
  fvu: number;
  l0: number;
  dead: number;
  steps: number;
}

export interface TrainResult {
  /** The final weights (the checkpoint holds the selected ones when `validate` was given). */
  weights: SaeWeights;
  checkpoint: SaeCheckpointCfg;
  best?: { score: number; epoch: number; step: number };
  validations?: ValidationEntry[];
  finalMetrics: FinalTrainMetrics;
  threads: number;
  steps: number;
  seconds: number;
  resumed: boolean;
  executionProvider: ExecutionProvider;
  fallbackReason?: string;
}

export async function trainSae(source: VectorSource, settingsInput: TrainSettingsInput, opts: TrainOptions): Promise<TrainResult> {
  const settings = resolveTrainSettings(settingsInput);
  const { batchSize: B, dictSize: K } = settings;
  const d = source.dim;
  const stepsPerEpoch = source.batchCount(B);
  if (!(d >= 1) || source.count < B) {
    throw new FactError('bad-input', `SAE training needs at least one batch of ${B} vectors, but the feature source has ${source.count}.`, {
      count: source.count,
    });
  }
  const schedule = lrSchedule(settings, stepsPerEpoch);
  const deadAfter = settings.deadAfterVectors || Math.floor(source.count / 2);

  const resumed = opts.resume === true && hasTrainState(opts.checkpointDir);
  const st: TrainState = resumed
    ? checkResumable(await loadTrainState(opts.checkpointDir), settings, source)
    : {
        settings,
        dModel: d,
        sourceCount: source.count,
        inputScale: await estimateInputScale(source, settings, opts.signal),
        params: initialState(d, K, settings.seed, settings.init),
        sinceFired: new Float64Array(K),
        epoch: 0,
        batch: 0,
        seconds: 0,
      };
  st.validations ??= [];
  const threads = opts.threads ?? defaultTrainThreads();
  const cfg: SaeConfig = {
    k: settings.k,
    dictSize: K,
    dModel: d,
    layer: settings.layer,
    modelSha256: settings.modelSha256,
    inputScale: st.inputScale,
  };

  const graph = {
    dModel: d,
    dictSize: K,
    k: settings.k,
    auxkMax: settings.auxkMax,
    auxkCoef: settings.auxkCoef,
    clipNorm: settings.clipNorm,
    beta1: settings.beta1,
    beta2: settings.beta2,
    eps: settings.eps,
  };
  const session = { executionProvider: opts.executionProvider ?? 'cpu', threads };
  const plain = await TrainStepSession.open({ ...graph, auxK: false }, session);
  const auxEnabled = settings.auxkCoef > 0 && settings.auxkMax >= 1;
  let withAux: TrainStepSession | undefined;

  let finalMetrics: FinalTrainMetrics | undefined;
  const started = performance.now();
  const secondsBefore = st.seconds;
  const stepsBefore = st.params.step;
  const elapsed = () => (performance.now() - started) / 1000;
  const saveState = async () => saveTrainState(opts.checkpointDir, { ...st, seconds: secondsBefore + elapsed() });
  const window = new MetricWindow();
  const epochWindow = new MetricWindow(st.epochSums);
  let lastReport = performance.now();
  let lastStateSave = performance.now();
  const inv = 1 / st.inputScale;
  const candidates = new Uint8Array(K);
  let x = new Float32Array(B * d);
  let lastStep = { epoch: st.epoch, batch: st.batch };
  const deadNow = () => {
    let dead = 0;
    for (let j = 0; j < K; j++) if (st.sinceFired[j]! >= deadAfter) dead++;
    return dead;
  };

  const report = (validation?: number) => {
    if (!opts.onProgress || (window.steps === 0 && validation === undefined)) return;
    const done = st.params.step - stepsBefore;
    const vps = (done * B) / Math.max(elapsed(), 1e-9);
    const dead = deadNow();
    opts.onProgress({
      step: st.params.step,
      totalSteps: schedule.totalSteps,
      epoch: lastStep.epoch,
      batchInEpoch: lastStep.batch,
      lr: learningRateAt(Math.max(st.params.step - 1, 0), schedule),
      ...window.summary(),
      dead,
      vectorsPerSecond: vps,
      etaSeconds: vps > 0 ? ((schedule.totalSteps - st.params.step) * B) / vps : Infinity,
      ...(validation !== undefined ? { validation } : {}),
    });
    window.reset();
    lastReport = performance.now();
  };

  try {
    while (st.epoch < settings.epochs) {
      for await (const batch of source.batches({
        batchSize: B,
        epoch: st.epoch,
        seed: settings.seed,
        startBatch: st.batch,
        ...(opts.signal ? { signal: opts.signal } : {}),
      })) {
        if (opts.signal?.aborted) throw cancelledError('SAE training');
        if (batch.data.length !== batch.rows * d)
          throw new FactError(
            'bad-input',
            `The feature source gave a batch of ${batch.data.length} values for ${batch.rows} vectors of ${d}.`,
          );
        if (batch.rows < 2) {
          // AuxK needs the residual's variance over the batch; a lone leftover vector is skipped
          st.batch++;
          continue;
        }
        if (x.length !== batch.rows * d) x = new Float32Array(batch.rows * d);
        for (let i = 0; i < x.length; i++) x[i] = batch.data[i]! * inv;
        // FaCT counts a latent dead when it has not fired in deadAfter vectors, this batch included (the graph
        // removes the latents that fire in it).
        let anyCandidate = false;
        for (let j = 0; j < K; j++)
          anyCandidate = (candidates[j] = st.sinceFired[j]! + batch.rows >= deadAfter ? 1 : 0) === 1 || anyCandidate;
        const useAux = auxEnabled && anyCandidate;
        if (useAux && !withAux) withAux = await TrainStepSession.open({ ...graph, auxK: true }, session);
        const lr = learningRateAt(st.params.step, schedule);
        const out = await (useAux ? withAux! : plain).run({
          x,
          batch: batch.rows,
          state: st.params,
          lr,
          inPlace: true,
          ...(useAux ? { deadCandidates: candidates } : {}),
        });
        if (!Number.isFinite(out.loss)) {
          throw new FactError(
            'bad-input',
            `SAE training diverged at step ${st.params.step + 1} (the loss is ${out.loss}); try a lower learning rate than ${settings.lr}.`,
            { step: st.params.step },
          );
        }
        st.params = out.state;
        for (let j = 0; j < K; j++) st.sinceFired[j] = out.fireCounts[j]! > 0 ? 0 : st.sinceFired[j]! + batch.rows;
        lastStep = { epoch: st.epoch, batch: st.batch };
        st.batch++;
        window.add(out, batch.rows);
        epochWindow.add(out, batch.rows);
        st.epochSums = epochWindow.sums;
        const now = performance.now();
        if (now - lastReport >= (opts.progressIntervalMs ?? 1000)) report();
        if (now - lastStateSave >= (opts.stateIntervalMs ?? 180_000)) {
          await saveState();
          lastStateSave = now;
        }
      }
      // The cursor moves to the next epoch only after validating, so a run cancelled during validation validates
      // again when it resumes (its source then yields no more batches for this epoch).
      const epochsDone = st.epoch + 1;
      const last = epochsDone === settings.epochs;
      if (opts.validate && (last || (settings.validateEvery > 0 && epochsDone % settings.validateEvery === 0))) {
        const scored = await opts.validate({ cfg, wEnc: st.params.wEnc, wDec: st.params.wDec });
        const { score, tolerance } = typeof scored === 'number' ? { score: scored, tolerance: 0 } : scored;
        // A validation cancelled and run again on resume replaces its own entry.
        st.validations = [
          ...st.validations!.filter((v) => v.step !== st.params.step),
          { epoch: epochsDone, step: st.params.step, score, tolerance },
        ];
        if (isSelected(st.validations)) {
          st.best = { score, epoch: epochsDone, step: st.params.step };
          // The resumable state goes first, naming this validation (its cursor at the epoch's end, so a resume
          // validates again and keeps the same weights): a kill after the kept weights are written must find a state,
          // or the folder's new cfg.json would read as a finished checkpoint (the first validation may come before
          // any state was saved).
          await saveState();
          lastStateSave = performance.now();
          faultPoint('train:state-saved-before-best');
          await saveSae(
            opts.checkpointDir,
            { cfg, wEnc: st.params.wEnc, wDec: st.params.wDec },
            checkpointExtra(settings, st, secondsBefore + elapsed(), threads),
          );
          faultPoint('train:best-saved');
        }
        report(score);
      } else report();
      if (last) finalMetrics = { ...epochWindow.summary(), dead: deadNow(), steps: epochWindow.sums.steps };
      st.epoch = epochsDone;
      st.batch = 0;
      epochWindow.reset();
      st.epochSums = epochWindow.sums;
      if (!last) {
        await saveState();
        lastStateSave = performance.now();
        faultPoint('train:epoch-state-saved');
      }
    }
  } catch (e) {
    await plain.dispose();
    await withAux?.dispose();
    if (opts.signal?.aborted || (isFactError(e) && e.code === 'cancelled')) {
      await saveState();
      throw new FactError(
        'cancelled',
        `SAE training was cancelled after step ${st.params.step}; its state is saved in '${opts.checkpointDir}' and it can resume.`,
        { checkpointDir: opts.checkpointDir, step: st.params.step, resumable: true },
      );
    }
    throw e;
  }
  await plain.dispose();
  await withAux?.dispose();

  const seconds = secondsBefore + elapsed();
  const weights: SaeWeights = { cfg, wEnc: st.params.wEnc, wDec: st.params.wDec };
  if (!finalMetrics) throw new FactError('internal', 'SAE training ended without finishing its last epoch.');
  const extra = checkpointExtra(settings, st, seconds, threads, finalMetrics);
  const checkpoint = opts.validate
    ? await saveSae(opts.checkpointDir, await reloadBest(opts.checkpointDir, weights, st), extra)
    : await saveSae(opts.checkpointDir, weights, extra);
  faultPoint('train:final-saved');
  if (!opts.keepTrainState) await deleteTrainState(opts.checkpointDir);
  return {
    weights,
    checkpoint,
    ...(st.best ? { best: st.best } : {}),
    ...(opts.validate ? { validations: st.validations! } : {}),
    finalMetrics,
    threads,
    steps: st.params.step,
    seconds,
    resumed,
    executionProvider: plain.executionProvider,
    ...(plain.fallbackReason ? { fallbackReason: plain.fallbackReason } : {}),
  };
}

/** sqrt(E‖z‖²) over the first `scaleBatches` batches of epoch 0 (FaCT: 550), streamed. */
export async function estimateInputScale(source: VectorSource, s: TrainSettings, signal?: AbortSignal): Promise<number> {
  let sum = 0,
    n = 0,
    batches = 0;
  for await (const batch of source.batches({ batchSize: s.batchSize, epoch: 0, seed: s.seed, ...(signal ? { signal } : {}) })) {
    for (let i = 0; i < batch.data.length; i++) sum += batch.data[i]! * batch.data[i]!;
    n += batch.rows;
    if (++batches >= s.scaleBatches) break;
  }
  const scale = Math.sqrt(sum / Math.max(n, 1));
  if (!(scale > 0 && Number.isFinite(scale)))
    throw new FactError('bad-input', `The training features have no usable scale (sqrt(E‖z‖²) = ${scale}); are they all zero?`);
  return scale;
}

function checkResumable(st: TrainState, settings: TrainSettings, source: VectorSource): TrainState {
  // States saved before a setting existed used its default.
  st.settings = { ...defaultTrainSettings, ...st.settings };
  const changed = (Object.keys(settings) as (keyof TrainSettings)[]).filter((key) => st.settings[key] !== settings[key]);
  if (changed.length) {
    throw new FactError(
      'bad-input',
      `Cannot resume: the saved training used other settings (${changed.map((key) => `${key}: ${String(st.settings[key])} → ${String(settings[key])}`).join(', ')}). Resume with the same settings or start over.`,
      { changed },
    );
  }
  if (st.dModel !== source.dim || st.sourceCount !== source.count) {
    throw new FactError(
      'bad-input',
      `Cannot resume: the saved training used ${st.sourceCount} vectors of ${st.dModel} values, but the feature source has ${source.count} of ${source.dim}.`,
    );
  }
  return st;
}

/** Whether the newest validation is the one to keep (see selectionRule): within the best's tolerance of the best. */
export function isSelected(history: ValidationEntry[]): boolean {
  const latest = history.at(-1)!;
  const best = history.reduce((a, b) => (b.score > a.score ? b : a));
  return latest.score >= best.score - best.tolerance;
}

function checkpointExtra(settings: TrainSettings, st: TrainState, seconds: number, threads: number, final?: FinalTrainMetrics) {
  const history = st.validations ?? [];
  const validation: ValidationRecord | undefined = history.length
    ? { rule: selectionRule, tolerance: history.reduce((a, b) => (b.score > a.score ? b : a)).tolerance, history }
    : undefined;
  const metrics: Record<string, number> = {
    ...(st.best ? { validation: st.best.score, bestEpoch: st.best.epoch, bestStep: st.best.step } : {}),
    // Over the last epoch (final weights): never a window that happened to be empty.
    ...(final ? { fvu: round(final.fvu), loss: round(final.loss), l0: round(final.l0), dead: final.dead } : {}),
  };
  return {
    training: { ...settings, steps: st.params.step, seconds: Math.round(seconds * 10) / 10, threads, onnxruntime: onnxruntimeVersion },
    ...(Object.keys(metrics).length ? { metrics } : {}),
    ...(validation ? { validation } : {}),
  };
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** After a validated run the best weights are already on disk; read them back to rewrite cfg.json with the totals. */
async function reloadBest(dir: string, fallback: SaeWeights, st: TrainState): Promise<SaeWeights> {
  if (!st.best) return fallback;
  const best = await loadSae(dir);
  return { cfg: fallback.cfg, wEnc: best.wEnc, wDec: best.wDec };
}

const noSums = (): MetricSums => ({ steps: 0, vectors: 0, loss: 0, mse: 0, aux: 0, errCentred: 0, xCentred: 0, fires: 0 });

/** Running sums of step metrics: between two progress reports, and over the current epoch. */
class MetricWindow {
  sums: MetricSums;

  constructor(start?: MetricSums) {
    this.sums = { ...noSums(), ...start };
  }

  get steps(): number {
    return this.sums.steps;
  }

  add(m: StepMetrics, rows: number): void {
    const s = this.sums;
    s.steps++;
    s.vectors += rows;
    s.loss += m.loss;
    s.mse += m.mse;
    s.aux += m.auxLoss;
    s.errCentred += m.sumSqErrCentered;
    s.xCentred += m.sumSqCentered;
    for (let j = 0; j < m.fireCounts.length; j++) s.fires += m.fireCounts[j]!;
  }

  summary() {
    const s = this.sums;
    const n = Math.max(s.steps, 1);
    return {
      loss: s.loss / n,
      mse: s.mse / n,
      auxLoss: s.aux / n,
      fvu: s.errCentred / (s.xCentred || 1),
      l0: s.fires / Math.max(s.vectors, 1),
    };
  }

  reset(): void {
    this.sums = noSums();
  }
}
