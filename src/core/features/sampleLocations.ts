// Which locations of an image's feature map to keep: n of them without replacement, with probability proportional
// to the weights (FaCT weights by |Σ_c F_c·∂logit_pred/∂F_c|). Efraimidis–Spirakis keys log(u)/w give exactly the
// distribution of sequential weighted draws without replacement (torch.multinomial's). Seeded per image, so a
// resumed collection draws the same locations.

import { mulberry32 } from '../util/random';

/** Uniform in [0, 1), seeded (mulberry32 of the seed mixed with a constant). */
export function seededUniform(seed: number): () => number {
  const next = mulberry32((seed >>> 0) ^ 0x9e3779b9);
  return () => next() / 4294967296;
}

export function sampleLocations(weights: ArrayLike<number>, n: number, seed: number): number[] {
  const rand = seededUniform(seed);
  const keyed: { i: number; key: number; tie: number }[] = [];
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    const u = Math.max(rand(), 1e-300);
    // Zero-weight locations come last (only when fewer than n locations have weight), in random order.
    keyed.push({ i, key: w > 0 ? Math.log(u) / w : -Infinity, tie: rand() });
  }
  keyed.sort((a, b) => b.key - a.key || b.tie - a.tie);
  return keyed
    .slice(0, Math.min(n, weights.length))
    .map((k) => k.i)
    .sort((a, b) => a - b);
}

/** FaCT's samples per image: ⌊72·512/C⌋, capped at H·W. */
export function defaultSamplesPerImage(channels: number, locations: number): number {
  return Math.max(1, Math.min(locations, Math.floor((72 * 512) / channels)));
}
