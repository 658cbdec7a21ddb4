// Per image and concept: presence p_k = Σ_loc u_k and contribution c_k = Σ_loc u_k·∂logit/∂u_k, where
// ∂logit/∂u_k(loc) = ⟨W_dec[:, k], ∂logit/∂x̂(loc)⟩ (x̂ = W_dec·u). Summed over k, the contributions give
// Σ_loc ⟨x̂, ∂logit/∂x̂⟩ = logit − bias: the decomposition is complete.
import type { SaeCodes } from './saeCodes';

export interface ImageConcepts {
  /** Active concept ids, ascending. */
  concepts: Int32Array;
  presence: Float32Array;
  contribution: Float32Array;
}

/**
 * `gradients` holds ∂logit/∂x̂ as [n·L, d] row vectors (the same layout as the codes); `wDec` is [d, K].
 * Returns one record per image.
 */
export function conceptContributions(
  codes: SaeCodes,
  gradients: Float32Array,
  n: number,
  locations: number,
  wDec: Float32Array,
  dictSize: number,
): ImageConcepts[] {
  const d = gradients.length / (n * locations);
  const { k } = codes;
  const out: ImageConcepts[] = [];
  for (let b = 0; b < n; b++) {
    const presence = new Map<number, number>();
    const contribution = new Map<number, number>();
    for (let p = 0; p < locations; p++) {
      const row = b * locations + p;
      const g = row * d;
      for (let j = 0; j < k; j++) {
        const u = codes.values[row * k + j]!;
        if (u <= 0) continue;
        const c = codes.indices[row * k + j]!;
        let dot = 0;
        for (let i = 0; i < d; i++) dot += wDec[i * dictSize + c]! * gradients[g + i]!;
        presence.set(c, (presence.get(c) ?? 0) + u);
        contribution.set(c, (contribution.get(c) ?? 0) + u * dot);
      }
    }
    const concepts = Int32Array.from([...presence.keys()].sort((a, b2) => a - b2));
    out.push({
      concepts,
      presence: Float32Array.from(concepts, (c) => presence.get(c)!),
      contribution: Float32Array.from(concepts, (c) => contribution.get(c)!),
    });
  }
  return out;
}

/** How many of the largest positive contributions it takes to reach `fraction` of their sum (FaCT's coverage L0). */
export function coverageL0(contribution: ArrayLike<number>, fraction = 0.8): number {
  const pos = Array.from(contribution)
    .filter((c) => c > 0)
    .sort((a, b) => b - a);
  const total = pos.reduce((a, c) => a + c, 0);
  if (total <= 0) return 0;
  let acc = 0;
  for (let i = 0; i < pos.length; i++) {
    acc += pos[i]!;
    if (acc >= fraction * total) return i + 1;
  }
  return pos.length;
}
