// Reading and writing the SAE itself; its file names and everything derived from it belong to ./saeFolder.ts. The
// checkpoint is `sae.safetensors` (FaCT's state-dict names and layouts: encoder.weight [K,d], decoder.weight [d,K],
// F32) plus `cfg.json` (in SAELens' spirit: what the SAE is, what it was trained on, how). Resuming needs more (Adam moments, counters, the data cursor): `train-state.safetensors` +
// `train-state.json`, kept apart so they can be deleted once training is done.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError } from '../errors';
import { faultPoint } from '../util/faultPoint';
import { readFileOrThrow, writeFileAtomic } from '../util/files';
import { asFloat32, readSafetensors, writeSafetensors, type SafeTensor } from '../util/safetensors';
import { checkSaeShape, type SaeConfig, type SaeWeights, type TrainSettings } from './saeConfig';
import { checkpointFiles } from './saeFolder';
import type { StepState } from './trainStepGraph';

/** Tensor names in sae.safetensors: those of FaCT's state dict, so PyTorch users can load_state_dict them. */
export const tensorNames = { encoder: 'encoder.weight', decoder: 'decoder.weight' } as const;

export interface SaeCheckpointCfg extends SaeConfig {
  format: 1;
  architecture: 'bias-free-topk';
  training?: Partial<TrainSettings> & { steps?: number; seconds?: number; [key: string]: unknown };
  metrics?: Record<string, number>;
  /** How the kept weights were chosen among the validated epochs, and every validation's score. */
  validation?: ValidationRecord;
  createdAt: string;
}

export interface ValidationRecord {
  rule: string;
  /** Score differences up to this are treated as noise. */
  tolerance: number;
  history: ValidationEntry[];
}

export interface ValidationEntry {
  epoch: number;
  step: number;
  score: number;
  tolerance: number;
}

export async function saveSae(
  dir: string,
  sae: SaeWeights,
  extra: { training?: SaeCheckpointCfg['training']; metrics?: Record<string, number>; validation?: ValidationRecord } = {},
): Promise<SaeCheckpointCfg> {
  const { k, dictSize: K, dModel: d } = sae.cfg;
  const cfg: SaeCheckpointCfg = {
    format: 1,
    architecture: 'bias-free-topk',
    k,
    dictSize: K,
    dModel: d,
    layer: sae.cfg.layer,
    modelSha256: sae.cfg.modelSha256,
    inputScale: sae.cfg.inputScale,
    ...(extra.training ? { training: extra.training } : {}),
    ...(extra.metrics ? { metrics: extra.metrics } : {}),
    ...(extra.validation ? { validation: extra.validation } : {}),
    createdAt: new Date().toISOString(),
  };
  await writeSafetensors(
    path.join(dir, checkpointFiles.weights),
    {
      [tensorNames.encoder]: { shape: [K, d], data: sae.wEnc },
      [tensorNames.decoder]: { shape: [d, K], data: sae.wDec },
    },
    { format: 'pt' },
  );
  faultPoint('checkpoint:weights-written');
  // cfg.json last: a folder with a cfg.json has its weights.
  await writeFileAtomic(path.join(dir, checkpointFiles.cfg), `${JSON.stringify(cfg, null, 2)}\n`);
  return cfg;
}

export interface SaeExpectation {
  modelSha256?: string;
  layer?: string;
  dModel?: number;
}

/** Loads and checks a checkpoint folder; `expect` names the model and layer it is about to be used with. */
export async function loadSae(dir: string, expect: SaeExpectation = {}): Promise<SaeWeights & { checkpoint: SaeCheckpointCfg }> {
  const cfgFile = path.join(dir, checkpointFiles.cfg);
  const weightsFile = path.join(dir, checkpointFiles.weights);
  const cfg = await readCfg(cfgFile);
  if (expect.modelSha256 !== undefined && cfg.modelSha256 !== expect.modelSha256) {
    throw new FactError(
      'bad-input',
      `The SAE in '${dir}' was trained on another model: its cfg.json names the model with sha256 ${cfg.modelSha256.slice(0, 12)}…, but this model's is ${expect.modelSha256.slice(0, 12)}….`,
      { file: cfgFile, expected: expect.modelSha256, found: cfg.modelSha256 },
    );
  }
  if (expect.layer !== undefined && cfg.layer !== expect.layer) {
    throw new FactError('bad-layer', `The SAE in '${dir}' was trained on layer '${cfg.layer}', not '${expect.layer}'.`, {
      file: cfgFile,
      expected: expect.layer,
      found: cfg.layer,
    });
  }
  if (expect.dModel !== undefined && cfg.dModel !== expect.dModel) {
    throw new FactError(
      'bad-layer',
      `The SAE in '${dir}' reads ${cfg.dModel}-channel features, but layer '${cfg.layer}' has ${expect.dModel} channels.`,
      { file: cfgFile, expected: expect.dModel, found: cfg.dModel },
    );
  }
  const file = await readSafetensors(weightsFile);
  const tensor = (name: string, shape: number[]): Float32Array => {
    const t: SafeTensor | undefined = file.tensors[name];
    if (!t)
      throw new FactError(
        'bad-input',
        `'${weightsFile}' has no tensor '${name}' (it has: ${Object.keys(file.tensors).join(', ') || 'none'}).`,
        { file: weightsFile, tensor: name },
      );
    if (t.shape.length !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1]) {
      throw new FactError(
        'bad-input',
        `Tensor '${name}' in '${weightsFile}' has shape [${t.shape.join(', ')}], but cfg.json describes an SAE with [${shape.join(', ')}] (k = ${cfg.k}, ${cfg.dictSize} latents, ${cfg.dModel} channels).`,
        { file: weightsFile, tensor: name },
      );
    }
    if (!['F32', 'F64', 'F16'].includes(t.dtype))
      throw new FactError('bad-input', `Tensor '${name}' in '${weightsFile}' is ${t.dtype}, not a float tensor.`, {
        file: weightsFile,
        tensor: name,
      });
    const values = asFloat32(t);
    // One NaN or Inf weight makes every logit through the SAE NaN: refuse it here rather than report NaN metrics.
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new FactError(
        'bad-checkpoint',
        `Tensor '${name}' in '${weightsFile}' holds ${values[bad]} at element ${bad} (row ${Math.floor(bad / shape[1]!)}, column ${bad % shape[1]!}): the SAE is damaged (diverged training?); train it again.`,
        { file: weightsFile, tensor: name, index: bad },
      );
    return values;
  };
  const wEnc = tensor(tensorNames.encoder, [cfg.dictSize, cfg.dModel]);
  const wDec = tensor(tensorNames.decoder, [cfg.dModel, cfg.dictSize]);
  const sae: SaeConfig = {
    k: cfg.k,
    dictSize: cfg.dictSize,
    dModel: cfg.dModel,
    layer: cfg.layer,
    modelSha256: cfg.modelSha256,
    inputScale: cfg.inputScale,
  };
  return { cfg: sae, wEnc, wDec, checkpoint: cfg };
}

async function readCfg(file: string): Promise<SaeCheckpointCfg> {
  const text = (await readFileOrThrow(file, 'SAE config')).toString('utf8');
  const bad = (why: string) => new FactError('bad-card', `The SAE config '${file}' ${why}.`, { file });
  let cfg: SaeCheckpointCfg;
  try {
    cfg = JSON.parse(text) as SaeCheckpointCfg;
  } catch (e) {
    throw bad(`is not valid JSON (truncated?): ${(e as Error).message}`);
  }
  if (typeof cfg !== 'object' || cfg === null) throw bad('is not a JSON object');
  if (cfg.format !== 1) throw bad(`has format ${String(cfg.format)}; this version reads format 1`);
  if (cfg.architecture !== 'bias-free-topk')
    throw bad(`describes a '${String(cfg.architecture)}' SAE; only 'bias-free-topk' (FaCT) is supported`);
  checkSaeShape(cfg.k, cfg.dictSize, (why) => bad(`is inconsistent: ${why}`));
  if (!Number.isInteger(cfg.dModel) || cfg.dModel < 1) throw bad(`has no valid "dModel" (${String(cfg.dModel)})`);
  if (typeof cfg.layer !== 'string' || typeof cfg.modelSha256 !== 'string') throw bad('lacks "layer" or "modelSha256"');
  if (!(typeof cfg.inputScale === 'number' && cfg.inputScale > 0 && Number.isFinite(cfg.inputScale)))
    throw bad(`has no valid "inputScale" (${String(cfg.inputScale)})`);
  return cfg;
}

// ---- resumable training state ----

export interface TrainState {
  settings: TrainSettings;
  dModel: number;
  /** Vectors in the source; a resumed run must train on the same data. */
  sourceCount: number;
  inputScale: number;
  params: StepState<Float32Array>;
  /** [K] vectors since each latent last fired. */
  sinceFired: Float64Array;
  /** Where the next step starts: epoch and batch within it. */
  epoch: number;
  batch: number;
  /** Training seconds so far, over all runs. */
  seconds: number;
  best?: { score: number; epoch: number; step: number };
  /** Every validation so far. */
  validations?: ValidationEntry[];
  /** Step-metric sums over the current epoch so far (the final metrics are those of the last epoch). */
  epochSums?: MetricSums;
}

/** Sums of step metrics over a span of steps. */
export interface MetricSums {
  steps: number;
  vectors: number;
  loss: number;
  mse: number;
  aux: number;
  errCentred: number;
  xCentred: number;
  fires: number;
}

interface TrainStateJson extends Omit<TrainState, 'params' | 'sinceFired'> {
  format: 1;
  step: number;
  savedAt: string;
}

export function hasTrainState(dir: string): boolean {
  return existsSync(path.join(dir, checkpointFiles.trainStateJson)) || existsSync(path.join(dir, checkpointFiles.trainState));
}

export async function saveTrainState(dir: string, s: TrainState): Promise<void> {
  const { wEnc, wDec, mEnc, vEnc, mDec, vDec, step } = s.params;
  const K = s.settings.dictSize,
    d = s.dModel;
  const json: TrainStateJson = {
    format: 1,
    step,
    settings: s.settings,
    dModel: d,
    sourceCount: s.sourceCount,
    inputScale: s.inputScale,
    epoch: s.epoch,
    batch: s.batch,
    seconds: s.seconds,
    ...(s.best ? { best: s.best } : {}),
    ...(s.validations ? { validations: s.validations } : {}),
    ...(s.epochSums ? { epochSums: s.epochSums } : {}),
    savedAt: new Date().toISOString(),
  };
  // The tensors file also carries the whole state in its metadata, so its one atomic write is a complete state: a
  // kill between the two writes leaves an older JSON beside a newer tensors file, and the tensors file wins.
  await writeSafetensors(
    path.join(dir, checkpointFiles.trainState),
    {
      wEnc: { shape: [K, d], data: wEnc },
      wDec: { shape: [d, K], data: wDec },
      mEnc: { shape: [K, d], data: mEnc },
      vEnc: { shape: [K, d], data: vEnc },
      mDec: { shape: [d, K], data: mDec },
      vDec: { shape: [d, K], data: vDec },
      sinceFired: { shape: [K], data: s.sinceFired },
    },
    { step: String(step), state: JSON.stringify(json) },
  );
  // The readable copy for people and older versions.
  await writeFileAtomic(path.join(dir, checkpointFiles.trainStateJson), `${JSON.stringify(json, null, 2)}\n`);
}

export async function loadTrainState(dir: string): Promise<TrainState> {
  const jsonFile = path.join(dir, checkpointFiles.trainStateJson);
  const tensorFile = path.join(dir, checkpointFiles.trainState);
  const file = await readSafetensors(tensorFile);
  const embedded = file.metadata.state;
  let json: TrainStateJson;
  try {
    json = JSON.parse(embedded ?? (await readFileOrThrow(jsonFile, 'training state')).toString('utf8')) as TrainStateJson;
  } catch (e) {
    if ((e as FactError).code === 'file-missing') throw e;
    const bad = embedded ? tensorFile : jsonFile;
    throw new FactError(
      'bad-input',
      `The training state in '${bad}' is not valid JSON (truncated?); delete the training state to start over.`,
      { file: bad },
    );
  }
  if (file.metadata.step !== String(json.step)) {
    throw new FactError(
      'bad-input',
      `'${tensorFile}' holds step ${file.metadata.step ?? '?'} but '${jsonFile}' says step ${json.step}: the state was not saved completely; delete both files to start over.`,
      { file: tensorFile },
    );
  }
  const K = json.settings.dictSize,
    d = json.dModel;
  const tensor = (name: string, shape: number[]) => {
    const t = file.tensors[name];
    if (!t || t.shape.join(',') !== shape.join(',')) {
      throw new FactError(
        'bad-input',
        `'${tensorFile}' lacks '${name}' with shape [${shape.join(', ')}]; delete the training state to start over.`,
        { file: tensorFile, tensor: name },
      );
    }
    return t.data;
  };
  const f32 = (name: string, shape: number[]) => Float32Array.from(tensor(name, shape) as Float32Array); // own aligned copy
  const params: StepState<Float32Array> = {
    wEnc: f32('wEnc', [K, d]),
    wDec: f32('wDec', [d, K]),
    mEnc: f32('mEnc', [K, d]),
    vEnc: f32('vEnc', [K, d]),
    mDec: f32('mDec', [d, K]),
    vDec: f32('vDec', [d, K]),
    step: json.step,
  };
  return {
    settings: json.settings,
    dModel: d,
    sourceCount: json.sourceCount,
    inputScale: json.inputScale,
    params,
    sinceFired: Float64Array.from(tensor('sinceFired', [K]) as Float64Array),
    epoch: json.epoch,
    batch: json.batch,
    seconds: json.seconds,
    ...(json.best ? { best: json.best } : {}),
    ...(json.validations ? { validations: json.validations } : {}),
    ...(json.epochSums ? { epochSums: json.epochSums } : {}),
  };
}

export async function deleteTrainState(dir: string): Promise<void> {
  // The tensors file (which carries the whole state) last: a kill in between leaves a state that still loads.
  await fs.rm(path.join(dir, checkpointFiles.trainStateJson), { force: true });
  faultPoint('checkpoint:state-json-deleted');
  await fs.rm(path.join(dir, checkpointFiles.trainState), { force: true });
}
