// The training step's parameter update on the CPU as fused loops: decoder-gradient projection, global-norm
// clipping, Adam (PyTorch's form) and decoder renormalisation, the same formulas as the update graph in
// trainStepGraph.ts. Why not that graph: onnxruntime runs each of its ~35 element-wise nodes as a separate pass over
// K×d tensors (≈ 10 GB of memory traffic per step at FaCT's ResNet-50 layer4 shape, several times the encoder
// product's time); here every tensor is read and written once per pass, and the decoder is walked in blocks of
// latents that stay in cache between passes. One thread, fixed order, float64 arithmetic: the result does not
// depend on the thread count, and every run gives the same bits.
import { clipEps, projectionEps, unitNormEps, type StepHyper, type StepState } from './trainStepGraph';

type FloatArray = Float32Array | Float64Array;

/** Latents per block of the decoder walk: 32 latents of a [d,K] row are two cache lines, and a block's rows of the
 *  five decoder-sized arrays (≈ 32·d·4 bytes each) stay in the L2 cache between the block's passes. */
const block = 32;

export interface FusedUpdateInput<A extends FloatArray> {
  hyper: StepHyper;
  dtype: 'float32' | 'float64';
  state: StepState<A>;
  /** [K,d] raw encoder gradient (read only). */
  gradEnc: A;
  /** [K,d] raw decoder gradient as rows (latent-major) (read only). */
  gradDecRows: A;
  lr: number;
  /** Where the new parameters and moments go; may be `state`'s own arrays (an in-place update). */
  into: Omit<StepState<A>, 'step'>;
}

export function fusedUpdate<A extends FloatArray>(u: FusedUpdateInput<A>): void {
  const { dModel: d, dictSize: K, beta1, beta2, eps, clipNorm } = u.hyper;
  const s = u.state;
  const gEnc = u.gradEnc;
  const gDec = u.gradDecRows;
  const wDec = s.wDec;

  // ---- the decoder gradient minus its component along each column: g⊥ = g − a_j·w, a_j = ⟨g, w⟩/(‖w‖ + 1e-6)²;
  //      g⊥ itself is formed in the Adam pass below, and Σ‖g⊥‖² (for the clipping) from the column sums here:
  //      ‖g − a w‖² = ‖g‖² − 2a⟨g, w⟩ + a²‖w‖², one pass less over the decoder-sized arrays ----
  const along = new Float64Array(K);
  const norm2 = new Float64Array(block);
  const gw = new Float64Array(block);
  const gg = new Float64Array(block);
  let sumSqDec = 0;
  for (let j0 = 0; j0 < K; j0 += block) {
    const n = Math.min(block, K - j0);
    norm2.fill(0);
    gw.fill(0);
    gg.fill(0);
    for (let p = 0; p < d; p++) {
      const row = p * K + j0;
      for (let j = 0; j < n; j++) {
        const w = wDec[row + j]!;
        const g = gDec[(j0 + j) * d + p]!;
        norm2[j]! += w * w;
        gw[j]! += g * w;
        gg[j]! += g * g;
      }
    }
    for (let j = 0; j < n; j++) {
      const inv = 1 / (Math.sqrt(norm2[j]!) + projectionEps);
      const a = (along[j0 + j] = gw[j]! * inv * inv);
      sumSqDec += Math.max(0, gg[j]! - 2 * a * gw[j]! + a * a * norm2[j]!);
    }
  }

  // ---- global-norm clipping (clip_grad_norm_), folded into Adam's gradient coefficients ----
  let sumSqEnc = 0;
  for (let i = 0; i < gEnc.length; i++) sumSqEnc += gEnc[i]! * gEnc[i]!;
  const clip = Math.min(1, clipNorm / (Math.sqrt(sumSqEnc + sumSqDec) + clipEps));

  // ---- Adam: p' = p − (lr·√bc2/bc1) · m'/(√v' + eps·√bc2), the graph's form of torch.optim.Adam ----
  const t = s.step + 1;
  const sqrtBc2 = Math.sqrt(1 - beta2 ** t);
  const stepSize = (u.lr * sqrtBc2) / (1 - beta1 ** t);
  const epsHat = eps * sqrtBc2;
  const c1 = clip * (1 - beta1);
  const c2 = clip * clip * (1 - beta2);
  const o = u.into;

  const { wEnc, mEnc, vEnc } = s;
  const [pE, mE, vE] = [o.wEnc, o.mEnc, o.vEnc];
  // The new moments are read back as stored (float32 in training), as the graph's later nodes see them.
  for (let i = 0; i < gEnc.length; i++) {
    const g = gEnc[i]!;
    mE[i] = beta1 * mEnc[i]! + c1 * g;
    vE[i] = beta2 * vEnc[i]! + c2 * g * g;
    pE[i] = wEnc[i]! - stepSize * (mE[i]! / (Math.sqrt(vE[i]!) + epsHat));
  }

  // ---- the decoder, a block of latents at a time: Adam, then its columns back to unit norm ----
  const { mDec, vDec } = s;
  const [pD, mD, vD] = [o.wDec, o.mDec, o.vDec];
  const unitEps = unitNormEps[u.dtype];
  for (let j0 = 0; j0 < K; j0 += block) {
    const n = Math.min(block, K - j0);
    norm2.fill(0);
    for (let p = 0; p < d; p++) {
      const row = p * K + j0;
      for (let j = 0; j < n; j++) {
        const i = row + j;
        const g = gDec[(j0 + j) * d + p]! - along[j0 + j]! * wDec[i]!;
        mD[i] = beta1 * mDec[i]! + c1 * g;
        vD[i] = beta2 * vDec[i]! + c2 * g * g;
        pD[i] = wDec[i]! - stepSize * (mD[i]! / (Math.sqrt(vD[i]!) + epsHat));
        norm2[j]! += pD[i]! * pD[i]!;
      }
    }
    for (let j = 0; j < n; j++) norm2[j] = Math.sqrt(norm2[j]!) + unitEps;
    for (let p = 0; p < d; p++) {
      const row = p * K + j0;
      for (let j = 0; j < n; j++) pD[row + j] = pD[row + j]! / norm2[j]!;
    }
  }
}
