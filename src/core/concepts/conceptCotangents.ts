// Cotangents at the SAE's layer whose back-propagation to the input gives a concept's trace. With TopK and ReLU
// frozen (bias-free, so u_k = W_enc[k]·z wherever k is active):
//   presence  Σ_loc u_k           → at each location where k is active: W_enc[k]
//   contribution c_k = Σ_loc u_k·⟨W_dec[:,k], g_loc⟩ (head gradient g frozen) → at those locations: ⟨W_dec[:,k], g_loc⟩·W_enc[k]
// Summed over several concepts, contribution cotangents explain their joint share of the logit.
import type { LayerLayout } from '../evaluate/layerLayout';
import type { SaeCodesOnly } from '../evaluate/saeCodes';

export interface CotangentSae {
  wEnc: Float32Array;
  wDec: Float32Array;
  dictSize: number;
}

/** One image's cotangent at the layer, in the layer's own layout (C×H×W or T×C), for the given concepts. */
export function conceptCotangent(
  codes: SaeCodesOnly,
  layout: LayerLayout,
  sae: CotangentSae,
  concepts: Set<number>,
  kind: 'presence' | 'contribution',
  gradient?: Float32Array,
): Float32Array {
  const { dim, locations, spatial } = layout;
  const out = new Float32Array(dim * locations);
  const { k } = codes;
  for (let p = 0; p < locations; p++) {
    for (let j = 0; j < k; j++) {
      const u = codes.values[p * k + j]!;
      const c = codes.indices[p * k + j]!;
      if (u <= 0 || !concepts.has(c)) continue;
      let scale = 1;
      if (kind === 'contribution') {
        scale = 0;
        for (let i = 0; i < dim; i++) scale += sae.wDec[i * sae.dictSize + c]! * gradient![p * dim + i]!;
      }
      for (let i = 0; i < dim; i++) {
        const v = scale * sae.wEnc[c * dim + i]!;
        out[spatial ? i * locations + p : p * dim + i]! += v;
      }
    }
  }
  return out;
}
