// What an SAE encoder returns for n vectors: the k active latents of each (indices and values) and the
// reconstruction x̂ = W_dec·u.
export interface SaeCodes {
  k: number;
  /** [n, k] latent ids (int32). */
  indices: Int32Array;
  /** [n, k] activations u ≥ 0. */
  values: Float32Array;
  /** [n, d] reconstruction. */
  recon: Float32Array;
}

export type SaeEncodeFn = (vectors: Float32Array, n: number) => Promise<SaeCodes>;
