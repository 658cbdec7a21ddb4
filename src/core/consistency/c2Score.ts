// The C² consistency score (FaCT §C², `dino_consistency.py`), as pure functions:
//  - per concept, its top images by presence (the top 5%, but at least about 10; concepts with < 2 dropped);
//  - per (image, concept), the foundation-model features averaged over the image with the positive part of the
//    concept's input trace as spatial weights: e = Σ_p a_p·f_p / Σ_p a_p;
//  - e minus the dataset mean of the uniformly averaged features;
//  - C_k = presence-weighted mean pairwise cosine over distinct pairs: Σ_{i≠j} w_i w_j cos(e_i, e_j) / Σ_{i≠j} w_i w_j.
import { quantile } from '../render/colorMap';

/**
 * The images to score a concept on: those with presence above min(q-quantile of the positive presences, the 11th
 * largest presence), or all positive ones when there are at most `minImages` (FaCT: 10). Returns indices into
 * `presence`, strongest first; fewer than 2 means the concept is dropped.
 */
export function selectTopImages(presence: ArrayLike<number>, q = 0.95, minImages = 10): number[] {
  const positive: { i: number; p: number }[] = [];
  for (let i = 0; i < presence.length; i++) if (presence[i]! > 0) positive.push({ i, p: presence[i]! });
  positive.sort((a, b) => b.p - a.p);
  let threshold = 0;
  if (positive.length > minImages) {
    threshold = Math.min(
      quantile(
        positive.map((x) => x.p),
        q,
      ),
      positive[minImages]!.p,
    );
  }
  return positive.filter((x) => x.p > threshold).map((x) => x.i);
}

/** Σ_p a_p·f[:, p] / Σ_p a_p for features f laid out D×P; `a` is the (non-negative) spatial weight. */
export function weightedEncoding(a: ArrayLike<number>, features: Float32Array, dim: number): Float64Array {
  const locations = a.length;
  const out = new Float64Array(dim);
  let total = 0;
  for (let p = 0; p < locations; p++) total += a[p]!;
  if (total <= 0) return out;
  for (let d = 0; d < dim; d++) {
    let s = 0;
    const row = d * locations;
    for (let p = 0; p < locations; p++) s += a[p]! * features[row + p]!;
    out[d] = s / total;
  }
  return out;
}

/** max(trace contribution, 0): the positive part of Σ_c x_c·∂presence/∂x_c per pixel. */
export function positivePart(map: ArrayLike<number>): Float64Array {
  return Float64Array.from(map as ArrayLike<number>, (v) => Math.max(0, v));
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** C_k for one concept: weighted mean cosine over distinct pairs of mean-subtracted encodings. */
export function conceptConsistency(encodings: ArrayLike<number>[], weights: ArrayLike<number>, mean?: ArrayLike<number>): number {
  const n = encodings.length;
  if (n < 2) return NaN;
  const centred = encodings.map((e) => (mean ? Float64Array.from(e as ArrayLike<number>, (v, i) => v - mean[i]!) : e));
  // Weights are normalised first (as the reference does); the ratio makes that immaterial but keeps sums small.
  const wsum = Array.from(weights).reduce((a, w) => a + w, 0);
  const w = Array.from(weights, (x) => x / (wsum || 1));
  let num = 0,
    den = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const ww = w[i]! * w[j]!;
      num += ww * cosine(centred[i]!, centred[j]!);
      den += ww;
    }
  }
  return den > 0 ? num / den : NaN;
}

/** The random-trace baseline's spatial weights for one image: max(U(0,1) per pixel, t) with t ~ U(0,1). */
export function randomTrace(locations: number, rand: () => number): Float64Array {
  const t = rand();
  return Float64Array.from({ length: locations }, () => Math.max(rand(), t));
}
