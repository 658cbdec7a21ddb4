// Runs the training step's three graphs (trainStepGraph.ts) in three onnxruntime sessions: state in, state and
// metrics out. The accumulation session always has one intra-op thread; the others the thread count asked for.
// On the CPU, for a large SAE, the parameter update (fusedUpdate.ts) and, without AuxK, the gradient sums
// (gradientSums.ts) are the same formulas as fused loops, a fraction of the graphs' memory traffic; a small SAE keeps
// the graphs, whose two threads win there (CPU_LOOPS_MIN_PARAMETERS). On a GPU provider the update graph runs there
// (and the accumulation graph in its one-thread CPU session).
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../onnx/modelFile';
import { fusedUpdate } from './fusedUpdate';
import { addGradientSums, fireCounts, type GradientSums, type PickSet } from './gradientSums';
import { openSession, type ExecutionProvider, type RequestedProvider, type RunnableSession } from '../onnx/session';
import {
  buildTrainStepGraphs,
  stepInputs as I,
  stepLinks as L,
  stepOutputs as O,
  type StepState,
  type TrainStepGraphOptions,
} from './trainStepGraph';

type FloatArray = Float32Array | Float64Array;

export interface StepRunInput<A extends FloatArray> {
  /** [batch, d] */
  x: A;
  batch: number;
  state: StepState<A>;
  lr: number;
  /** [K], 1 = has not fired for long enough to be dead; required when the graph has AuxK. */
  deadCandidates?: Uint8Array;
  /** Only for graphs built with residualInput. */
  residual?: A;
  /** Write the new parameters and moments into `state`'s own arrays (and return them): no K×d allocations per
   *  step. The trainer's choice; by default the input state is left as it was. */
  inPlace?: boolean;
}

export interface StepMetrics<A extends FloatArray = FloatArray> {
  loss: number;
  mse: number;
  auxLoss: number;
  sumSq: number;
  sumSqCentered: number;
  sumSqErr: number;
  sumSqErrCentered: number;
  /** [K] vectors of the batch in which each latent fired. */
  fireCounts: A;
}

export interface StepRunResult<A extends FloatArray> extends StepMetrics<A> {
  state: StepState<A>;
  gradEnc?: A;
  gradDec?: A;
}

/** The accumulation graph's session: one intra-op thread on the CPU, whatever the job asked for. Its ScatterND adds
 *  in index order there; on more threads onnxruntime 1.30 splits the additions over threads without locking and
 *  loses some, and CUDA's scatter adds with atomics in no fixed order. Cheap: it is O(B·k·d), not O(B·K·d). */
export const accumulationSessionOptions = { executionProvider: 'cpu', threads: 1 } as const;

/**
 * From how many encoder parameters (d·K) the CPU runs the update and gradient sums as fused loops instead of graphs.
 * Measured here (2 threads, k 16, median step): loops ÷ graphs 1.18 at d 128 × K 2,048 (batch 4,096), 1.58 at
 * 512 × 4,096, 0.97 at 512 × 8,192 (4.2 M), 0.36 at 1,024 × 8,192, and 347 against 185 vectors/s at ResNet-50
 * layer4's 2,048 × 16,384: the single-threaded loops lose while the tensors are small, and win once the graphs'
 * fresh outputs (page faults on hundreds of MB) dominate.
 */
export const CPU_LOOPS_MIN_PARAMETERS = 4 * 1024 * 1024;

export class TrainStepSession {
  private constructor(
    readonly options: TrainStepGraphOptions,
    private readonly coefficients: RunnableSession,
    /** The accumulation and update graphs' sessions: none on the CPU, where gradientSums (without AuxK) and
     *  fusedUpdate do their work. */
    private readonly accumulate: RunnableSession | undefined,
    private readonly update: RunnableSession | undefined,
    readonly executionProvider: ExecutionProvider,
    readonly fallbackReason: string | undefined,
  ) {}

  /** The CPU's gradient-sum buffers, reused by every step. */
  private sumBuffers: GradientSums<FloatArray> | undefined;

  static async open(
    options: TrainStepGraphOptions,
    session: {
      executionProvider?: RequestedProvider;
      threads?: number;
      /** On the CPU: the fused loops or the graphs (default by size, CPU_LOOPS_MIN_PARAMETERS; tests compare both). */
      cpuPath?: 'loops' | 'graphs';
    } = {},
  ): Promise<TrainStepSession> {
    const graphs = buildTrainStepGraphs(options);
    const coefficients = await openSession(encodeModel(graphs.coefficients), session);
    const cpuPath = session.cpuPath ?? (options.dModel * options.dictSize >= CPU_LOOPS_MIN_PARAMETERS ? 'loops' : 'graphs');
    const onCpu = coefficients.executionProvider === 'cpu' && cpuPath === 'loops';
    // With AuxK each vector has k + k_aux picks (k_aux up to 256): onnxruntime's vectorised outer products and
    // scatter outrun the scalar loop there (default shape: ~0.13 vs ~0.5 s per step), so AuxK steps keep the graph.
    const accumulate = onCpu && !options.auxK ? undefined : await openSession(encodeModel(graphs.accumulate), accumulationSessionOptions);
    const update = onCpu ? undefined : await openSession(encodeModel(graphs.update), session);
    return new TrainStepSession(
      options,
      coefficients.session,
      accumulate?.session,
      update?.session,
      coefficients.executionProvider,
      coefficients.fallbackReason,
    );
  }

  async run<A extends FloatArray>(input: StepRunInput<A>): Promise<StepRunResult<A>> {
    const o = this.options;
    const dt = o.dtype ?? 'float32';
    const { dModel: d, dictSize: K } = o;
    const s = input.state;
    const t = (data: FloatArray, dims: number[]) => new ort.Tensor(dt, data, dims);
    const x = t(input.x, [input.batch, d]);
    const wEnc = t(s.wEnc, [K, d]);
    const wDec = t(s.wDec, [d, K]);
    const feeds: Record<string, ort.Tensor> = { [I.x]: x, [I.wEnc]: wEnc, [I.wDec]: wDec };
    if (o.auxK) {
      if (!input.deadCandidates) throw new Error('This training-step graph has AuxK and needs deadCandidates.');
      feeds[I.deadCandidates] = new ort.Tensor('bool', input.deadCandidates, [K]);
      if (o.residualInput) {
        if (!input.residual) throw new Error('This training-step graph takes the AuxK residual as an input.');
        feeds[I.residual] = t(input.residual, [input.batch, d]);
      }
    }
    const coef = await this.coefficients.run(feeds);
    const num = (name: string) => Number((coef[name]!.data as FloatArray)[0]);
    let sums: GradientSums<A> & { fireCounts: A };
    let updated: { state: StepState<A>; gradEnc?: A; gradDec?: A };
    if (this.accumulate) {
      const links = [L.idx, L.u, L.du, L.dXHat, ...(o.auxK ? [L.auxIdx, L.auxU, L.dAuxU, L.dAux] : [])];
      const r = await this.accumulate.run({ [I.x]: x, ...Object.fromEntries(links.map((n) => [n, coef[n]!])) });
      const arr = (name: string) => r[name]!.data as A;
      sums = { gradEnc: arr(L.gradEnc), gradDecRows: arr(L.gradDecRows), fireCounts: arr(O.fireCounts) };
    } else sums = this.fusedSums(input, coef);
    if (this.update) updated = await this.graphUpdate(this.update, input, sums);
    else updated = this.fusedUpdate(input, sums.gradEnc, sums.gradDecRows);
    return {
      ...updated,
      loss: num(O.loss),
      mse: num(O.mse),
      auxLoss: num(O.auxLoss),
      sumSq: num(O.sumSq),
      sumSqCentered: num(O.sumSqCentered),
      sumSqErr: num(O.sumSqErr),
      sumSqErrCentered: num(O.sumSqErrCentered),
      fireCounts: sums.fireCounts,
    };
  }

  /** The gradient sums on the CPU, into buffers kept between steps (fresh ones when the caller gets the gradients). */
  private fusedSums<A extends FloatArray>(
    input: StepRunInput<A>,
    coef: ort.InferenceSession.OnnxValueMapType,
  ): GradientSums<A> & { fireCounts: A } {
    const o = this.options;
    const { dModel: d, dictSize: K } = o;
    const make = (n: number) => new (input.state.wEnc.constructor as { new (n: number): A })(n);
    let buffers = this.sumBuffers as GradientSums<A> | undefined;
    if (!buffers || o.gradientOutputs || buffers.gradEnc.constructor !== input.state.wEnc.constructor) {
      buffers = { gradEnc: make(K * d), gradDecRows: make(K * d) };
      if (!o.gradientOutputs) this.sumBuffers = buffers;
    }
    const data = (name: string) => coef[name]!.data as FloatArray;
    const idx = coef[L.idx]!.data as BigInt64Array;
    const sets: PickSet[] = [{ idx, enc: data(L.du), dec: data(L.u), outGrad: data(L.dXHat), perVector: o.k }];
    if (o.auxK) {
      const auxIdx = coef[L.auxIdx]!;
      sets.push({
        idx: auxIdx.data as BigInt64Array,
        enc: data(L.dAuxU),
        dec: data(L.auxU),
        outGrad: data(L.dAux),
        perVector: Number(auxIdx.dims[1]),
      });
    }
    addGradientSums(input.x, d, sets, buffers);
    return { ...buffers, fireCounts: fireCounts(idx, data(L.u), make(K)) };
  }

  /** The update on the CPU: fusedUpdate into the state's arrays (inPlace) or fresh ones. */
  private fusedUpdate<A extends FloatArray>(
    input: StepRunInput<A>,
    gradEnc: A,
    gradDecRows: A,
  ): { state: StepState<A>; gradEnc?: A; gradDec?: A } {
    const o = this.options;
    const dt = o.dtype ?? 'float32';
    const { dModel: d, dictSize: K } = o;
    const s = input.state;
    // The raw decoder gradient in FaCT's [d,K] layout.
    let gradDec: A | undefined;
    if (o.gradientOutputs) {
      gradDec = new (gradDecRows.constructor as { new (n: number): A })(d * K);
      for (let j = 0; j < K; j++) for (let p = 0; p < d; p++) gradDec[p * K + j] = gradDecRows[j * d + p]!;
    }
    const fresh = () => new (s.wEnc.constructor as { new (n: number): A })(K * d);
    const into = input.inPlace ? s : { wEnc: fresh(), wDec: fresh(), mEnc: fresh(), vEnc: fresh(), mDec: fresh(), vDec: fresh() };
    fusedUpdate({ hyper: o, dtype: dt, state: s, gradEnc, gradDecRows, lr: input.lr, into });
    const state: StepState<A> = { ...into, step: s.step + 1 };
    return { state, ...(gradDec ? { gradEnc, gradDec } : {}) };
  }

  /** The update graph's run (GPU providers). */
  private async graphUpdate<A extends FloatArray>(
    update: RunnableSession,
    input: StepRunInput<A>,
    sums: GradientSums<A>,
  ): Promise<{ state: StepState<A>; gradEnc?: A; gradDec?: A }> {
    const o = this.options;
    const dt = o.dtype ?? 'float32';
    const { dModel: d, dictSize: K } = o;
    const s = input.state;
    const t = (data: FloatArray, dims: number[]) => new ort.Tensor(dt, data, dims);
    const scalar = (v: number) => t(dt === 'float32' ? Float32Array.of(v) : Float64Array.of(v), []);
    const out = await update.run({
      [I.wEnc]: t(s.wEnc, [K, d]),
      [I.wDec]: t(s.wDec, [d, K]),
      [I.mEnc]: t(s.mEnc, [K, d]),
      [I.vEnc]: t(s.vEnc, [K, d]),
      [I.mDec]: t(s.mDec, [d, K]),
      [I.vDec]: t(s.vDec, [d, K]),
      [I.step]: new ort.Tensor('int64', BigInt64Array.of(BigInt(s.step)), []),
      [I.lr]: scalar(input.lr),
      [L.gradEnc]: t(sums.gradEnc, [K, d]),
      [L.gradDecRows]: t(sums.gradDecRows, [K, d]),
    });
    const arr = (name: string) => out[name]!.data as A;
    const keys = ['wEnc', 'wDec', 'mEnc', 'vEnc', 'mDec', 'vDec'] as const;
    const next = Object.fromEntries(keys.map((key) => [key, arr(O[key])])) as Omit<StepState<A>, 'step'>;
    if (input.inPlace) for (const key of keys) s[key].set(next[key]);
    const state: StepState<A> = { ...(input.inPlace ? s : next), step: s.step + 1 };
    return {
      state,
      ...(o.gradientOutputs ? { gradEnc: sums.gradEnc, gradDec: arr(O.gradDec) } : {}),
    };
  }

  async dispose(): Promise<void> {
    await this.coefficients.release();
    await this.accumulate?.release();
    await this.update?.release();
  }
}
