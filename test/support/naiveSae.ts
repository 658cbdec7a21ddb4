// Naive references for SAE-based tests: the TopK SAE computed directly, and two simple dictionaries.
import type { SaeCodes } from '../../src/core/evaluate/saeCodes';
import type { SaeWeights } from '../../src/core/sae/saeConfig';
import { seededRandom } from './denseJacobian';

/** The naive TopK SAE: u = TopK_k(ReLU(W_enc z)), ẑ = W_dec u. */
export function naiveEncoder(sae: SaeWeights) {
  const { k, dictSize: K, dModel: d } = sae.cfg;
  return async (z: Float32Array, n: number): Promise<SaeCodes> => {
    const indices = new Int32Array(n * k);
    const values = new Float32Array(n * k);
    const reconstruction = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      const pre = Array.from({ length: K }, (_, j) => {
        let s = 0;
        for (let i = 0; i < d; i++) s += sae.wEnc[j * d + i]! * z[r * d + i]!;
        return { j, v: Math.max(0, s) };
      })
        .sort((a, b) => b.v - a.v)
        .slice(0, k);
      pre.forEach((p, t) => {
        indices[r * k + t] = p.j;
        values[r * k + t] = p.v;
        for (let i = 0; i < d; i++) reconstruction[r * d + i]! += sae.wDec[i * K + p.j]! * p.v;
      });
    }
    return { n, k, indices, values, reconstruction };
  };
}

export function randomSae(d: number, K: number, k: number, seed: number): SaeWeights {
  const rand = seededRandom(seed);
  const wDec = Float32Array.from({ length: d * K }, () => rand() - 0.5);
  for (let j = 0; j < K; j++) {
    let n = 0;
    for (let i = 0; i < d; i++) n += wDec[i * K + j]! ** 2;
    for (let i = 0; i < d; i++) wDec[i * K + j]! /= Math.sqrt(n);
  }
  const wEnc = new Float32Array(K * d);
  for (let j = 0; j < K; j++) for (let i = 0; i < d; i++) wEnc[j * d + i] = wDec[i * K + j]!;
  return { cfg: { k, dictSize: K, dModel: d, layer: 'layer2', modelSha256: '', inputScale: 1 }, wEnc, wDec };
}

/** ±identity dictionary: reconstructs every vector exactly with k = d. */
export function exactSae(d: number): SaeWeights {
  const K = 2 * d;
  const wDec = new Float32Array(d * K);
  const wEnc = new Float32Array(K * d);
  for (let i = 0; i < d; i++) {
    wDec[i * K + i] = 1;
    wDec[i * K + d + i] = -1;
    wEnc[i * d + i] = 1;
    wEnc[(d + i) * d + i] = -1;
  }
  return { cfg: { k: d, dictSize: K, dModel: d, layer: 'layer2', modelSha256: '', inputScale: 1 }, wEnc, wDec };
}
