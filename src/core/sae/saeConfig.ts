// What an SAE is (SaeConfig) and how it is trained (TrainSettings), with the defaults of FaCT's recipe and one
// validation step that turns every impossible value into a FactError a person can act on.
import { FactError } from '../errors';

/** A bias-free TopK SAE for one layer of one model (FaCT's `MyBiasFreeTopKSAE`). */
export interface SaeConfig {
  /** Active latents per vector. */
  k: number;
  /** Number of latents (concepts), FaCT's K. */
  dictSize: number;
  /** Feature width at the layer, FaCT's C. */
  dModel: number;
  /** The layer the SAE reads, as the model card names it. */
  layer: string;
  /** sha256 of the model file the features came from. */
  modelSha256: string;
  /** sqrt(E‖z‖²) of the training features. Informational: the SAE is positively homogeneous, so its weights
   *  work on raw features (SAE(c·z) = c·SAE(z)) and nothing needs rescaling at inference. */
  inputScale: number;
}

export interface TrainSettings {
  k: number;
  dictSize: number;
  layer: string;
  modelSha256: string;
  /** Vectors per step. */
  batchSize: number;
  epochs: number;
  /** Peak learning rate. */
  lr: number;
  /** Linear warm-up over this many epochs… */
  warmupEpochs: number;
  /** …then constant until this epoch, then cosine decay to 0 at the end. */
  constantUntilEpoch: number;
  /** Seeds the initial dictionary and the data order. */
  seed: number;
  /** Weight of the AuxK loss (0 turns it off). */
  auxkCoef: number;
  /** At most this many dead latents reconstruct the residual (0 turns AuxK off). */
  auxkMax: number;
  /** Global gradient-norm clip. */
  clipNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Validate every this many epochs (and after the last); 0 validates only after the last. */
  validateEvery: number;
  /** Batches used to estimate the input scale (FaCT: 550), or fewer when the data has fewer. */
  scaleBatches: number;
  /** A latent is dead when it has not fired in this many vectors; 0 means half the training vectors (FaCT). */
  deadAfterVectors: number;
  /** Starting dictionary: 'isotropic' (unit columns uniform on the sphere) or 'fact' (FaCT's: nn.Linear's
   *  kaiming-uniform columns, normalised), both with the encoder as the decoder's transpose. See initialWeights.ts. */
  init: SaeInit;
}

export type SaeInit = 'isotropic' | 'fact';
export const saeInits: readonly SaeInit[] = ['isotropic', 'fact'];

export const defaultTrainSettings: Omit<TrainSettings, 'k' | 'dictSize' | 'layer' | 'modelSha256'> = {
  // FaCT trains with 32786 vectors per step on a GPU; 4096 keeps a CPU step under a few seconds at FaCT's sizes.
  batchSize: 4096,
  epochs: 16,
  lr: 1e-3,
  warmupEpochs: 1,
  constantUntilEpoch: 2,
  seed: 0,
  auxkCoef: 1 / 32,
  auxkMax: 256,
  clipNorm: 1.0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  validateEvery: 2,
  scaleBatches: 550,
  deadAfterVectors: 0,
  init: 'isotropic',
};

export type TrainSettingsInput = Partial<TrainSettings> & Pick<TrainSettings, 'k' | 'dictSize' | 'layer' | 'modelSha256'>;

/** Fills in defaults and checks every value; throws 'bad-input' naming the first bad one. */
export function resolveTrainSettings(input: TrainSettingsInput): TrainSettings {
  const s = { ...defaultTrainSettings, ...dropUndefined(input) } as TrainSettings;
  const bad = (why: string) => new FactError('bad-input', `Invalid SAE training settings: ${why}.`, { settings: s });
  checkSaeShape(s.k, s.dictSize, (why) => bad(why));
  if (typeof s.layer !== 'string' || s.layer === '') throw bad('"layer" must name the layer the features come from');
  if (typeof s.modelSha256 !== 'string') throw bad('"modelSha256" must be the sha256 of the model file');
  const positiveInt = (name: keyof TrainSettings, min = 1) => {
    const v = s[name] as number;
    if (!Number.isInteger(v) || v < min) throw bad(`"${name}" must be an integer ≥ ${min}, not ${v}`);
  };
  positiveInt('batchSize', 2); // AuxK divides by the residual's variance over the batch
  positiveInt('epochs');
  positiveInt('warmupEpochs', 0);
  positiveInt('constantUntilEpoch', 0);
  positiveInt('seed', 0);
  positiveInt('auxkMax', 0);
  positiveInt('validateEvery', 0);
  positiveInt('scaleBatches');
  positiveInt('deadAfterVectors', 0);
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw bad(`"lr" must be a positive number, not ${s.lr}`);
  if (s.constantUntilEpoch < s.warmupEpochs)
    throw bad(`"constantUntilEpoch" (${s.constantUntilEpoch}) comes before the end of the warm-up (${s.warmupEpochs})`);
  if (s.warmupEpochs >= s.epochs && s.warmupEpochs > 0)
    throw bad(`the warm-up (${s.warmupEpochs} epochs) must be shorter than the training (${s.epochs} epochs)`);
  if (!(s.auxkCoef >= 0 && Number.isFinite(s.auxkCoef))) throw bad(`"auxkCoef" must be ≥ 0, not ${s.auxkCoef}`);
  if (!(s.clipNorm > 0)) throw bad(`"clipNorm" must be positive, not ${s.clipNorm}`);
  for (const b of ['beta1', 'beta2'] as const) if (!(s[b] >= 0 && s[b] < 1)) throw bad(`"${b}" must be in [0, 1), not ${s[b]}`);
  if (!(s.eps > 0)) throw bad(`"eps" must be positive, not ${s.eps}`);
  if (!saeInits.includes(s.init)) throw bad(`"init" must be ${saeInits.map((i) => `'${i}'`).join(' or ')}, not '${String(s.init)}'`);
  return s;
}

/** k and dictSize of any SAE (training settings, a checkpoint's cfg.json). */
export function checkSaeShape(k: number, dictSize: number, fail: (why: string) => Error): void {
  if (!Number.isInteger(dictSize) || dictSize < 1) throw fail(`the dictionary size must be a positive integer, not ${dictSize}`);
  if (!Number.isInteger(k) || k < 1) throw fail(`k must be a positive integer, not ${k}`);
  if (k > dictSize) throw fail(`k = ${k} is larger than the dictionary (${dictSize} latents)`);
}

/** Step counts of the learning-rate schedule; every boundary is a whole epoch. */
export interface LrSchedule {
  lr: number;
  warmupSteps: number;
  decayStart: number;
  totalSteps: number;
}

export function lrSchedule(s: TrainSettings, stepsPerEpoch: number): LrSchedule {
  return {
    lr: s.lr,
    warmupSteps: s.warmupEpochs * stepsPerEpoch,
    decayStart: Math.min(s.constantUntilEpoch, s.epochs) * stepsPerEpoch,
    totalSteps: s.epochs * stepsPerEpoch,
  };
}

/** The learning rate of the step that follows `step` finished steps: linear warm-up, constant, cosine to 0
 *  (FaCT's `my_lr_schedule`, except that warm-up counts from step 1 so the first step is not wasted at lr 0). */
export function learningRateAt(step: number, s: LrSchedule): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (step >= s.decayStart && s.totalSteps > s.decayStart) {
    const t = (step - s.decayStart) / (s.totalSteps - s.decayStart);
    return s.lr * 0.5 * (1 + Math.cos(Math.PI * t));
  }
  return s.lr;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A trained SAE in FaCT's layouts: `wEnc` [K,d] (encoder.weight), `wDec` [d,K] (decoder.weight, unit-norm columns). */
export interface SaeWeights {
  cfg: SaeConfig;
  wEnc: Float32Array;
  wDec: Float32Array;
}
