// Synthetic SAE training data: each vector is a positive mix of a few hidden unit-norm directions, so a TopK SAE
// that works must find those directions among its decoder columns.
import { ArrayVectorSource } from '../../../src/core/features/vectorSource';
import { seededNormal } from '../../../src/core/sae/initialWeights';
import { seededRandom } from '../../support/denseJacobian';

export interface SyntheticFeatures {
  source: ArrayVectorSource;
  directions: Float64Array[];
}

export function syntheticFeatures(o: {
  dim: number;
  directions: number;
  perVector: number;
  count: number;
  seed: number;
  scale?: number;
}): SyntheticFeatures {
  const normal = seededNormal(o.seed);
  const uniform = seededRandom(o.seed + 1);
  const directions = Array.from({ length: o.directions }, () => {
    const v = Float64Array.from({ length: o.dim }, normal);
    const n = Math.hypot(...v);
    return v.map((a) => a / n);
  });
  const data = new Float32Array(o.count * o.dim);
  for (let i = 0; i < o.count; i++) {
    const chosen = new Set<number>();
    while (chosen.size < o.perVector) chosen.add(Math.floor(uniform() * o.directions) % o.directions);
    for (const h of chosen) {
      const c = (0.5 + uniform()) * (o.scale ?? 1);
      for (let p = 0; p < o.dim; p++) data[i * o.dim + p]! += c * directions[h]![p]!;
    }
  }
  return { source: new ArrayVectorSource(data, o.dim), directions };
}

/** For each hidden direction, the best cosine with any decoder column of wDec [d,K]. */
export function bestCosines(directions: Float64Array[], wDec: Float32Array, dim: number, dictSize: number): number[] {
  return directions.map((h) => {
    let best = -1;
    for (let j = 0; j < dictSize; j++) {
      let dot = 0,
        norm = 0;
      for (let p = 0; p < dim; p++) {
        dot += h[p]! * wDec[p * dictSize + j]!;
        norm += wDec[p * dictSize + j]! ** 2;
      }
      best = Math.max(best, dot / Math.sqrt(norm));
    }
    return best;
  });
}
