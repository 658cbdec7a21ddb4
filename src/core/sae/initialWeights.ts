// The starting dictionary: random unit-norm decoder columns and the encoder as their transpose (as FaCT; the two
// are untied afterwards). Seeded and platform-independent, so a seed names one starting point everywhere.
//   isotropic: each column uniform on the unit sphere (normalised Gaussian) — our default;
//   fact:      FaCT's MyBiasFreeTopKSAE via dictionary_learning's AutoEncoderTopK: decoder = nn.Linear(K, d).weight,
//              kaiming-uniform, i.e. i.i.d. U(−1/√K, 1/√K) entries, then each column divided by its norm (so the
//              bound cancels); the directions lean towards the cube's diagonals instead of being isotropic.
//              Same distribution as FaCT's, not the same numbers (PyTorch's generator is not reproduced).
import { mulberry32 } from '../util/random';
import type { SaeInit } from './saeConfig';
import type { StepState } from './trainStepGraph';

/** Uniform samples in (0, 1) from a seeded mulberry32 generator. */
export function seededUniform(seed: number): () => number {
  const next = mulberry32(seed);
  return () => (next() + 0.5) / 2 ** 32; // in (0, 1): log() stays finite
}

/** Standard-normal samples (Box–Muller) from a seeded mulberry32 generator. */
export function seededNormal(seed: number): () => number {
  const uniform = seededUniform(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

/** W_dec [d,K] with unit-norm columns (see the header for `init`), W_enc [K,d] = W_decᵀ, zero Adam moments. */
export function initialState(dModel: number, dictSize: number, seed: number, init: SaeInit = 'isotropic'): StepState<Float32Array> {
  const d = dModel,
    K = dictSize;
  const uniform = seededUniform(seed);
  const draw = init === 'fact' ? () => 2 * uniform() - 1 : seededNormal(seed);
  const wEnc = new Float32Array(K * d);
  const wDec = new Float32Array(d * K);
  const column = new Float64Array(d);
  for (let j = 0; j < K; j++) {
    let norm = 0;
    for (let p = 0; p < d; p++) norm += (column[p] = draw()) ** 2;
    norm = Math.sqrt(norm);
    for (let p = 0; p < d; p++) wDec[p * K + j] = wEnc[j * d + p] = column[p]! / norm;
  }
  const zeros = () => new Float32Array(K * d);
  return { wEnc, wDec, mEnc: zeros(), vEnc: zeros(), mDec: zeros(), vDec: zeros(), step: 0 };
}
