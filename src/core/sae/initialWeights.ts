// The starting dictionary: random unit-norm decoder columns and the encoder as their transpose (FaCT's init; the two
// are untied afterwards). Seeded and platform-independent, so a seed names one starting point everywhere.
import { mulberry32 } from '../util/random';
import type { StepState } from './trainStepGraph';

/** Standard-normal samples (Box–Muller) from a seeded mulberry32 generator. */
export function seededNormal(seed: number): () => number {
  const next = mulberry32(seed);
  const uniform = () => (next() + 0.5) / 2 ** 32; // in (0, 1): log() stays finite
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

/** W_dec [d,K] with unit-norm columns drawn uniformly on the sphere, W_enc [K,d] = W_decᵀ, zero Adam moments. */
export function initialState(dModel: number, dictSize: number, seed: number): StepState<Float32Array> {
  const d = dModel, K = dictSize;
  const normal = seededNormal(seed);
  const wEnc = new Float32Array(K * d);
  const wDec = new Float32Array(d * K);
  const column = new Float64Array(d);
  for (let j = 0; j < K; j++) {
    let norm = 0;
    for (let p = 0; p < d; p++) norm += (column[p] = normal()) ** 2;
    norm = Math.sqrt(norm);
    for (let p = 0; p < d; p++) wDec[p * K + j] = wEnc[j * d + p] = column[p]! / norm;
  }
  const zeros = () => new Float32Array(K * d);
  return { wEnc, wDec, mEnc: zeros(), vEnc: zeros(), mDec: zeros(), vDec: zeros(), step: 0 };
}
