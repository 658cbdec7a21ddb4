// The training step's gradient sums on the CPU: every active (vector, latent) pair adds its row to the raw encoder
// and decoder gradients, in pair order, on one thread — the same sums as the accumulation graph's ScatterND(add) in
// trainStepGraph.ts, without building its B·k×d update matrices (B·k_aux×d with AuxK: gigabytes at FaCT's sizes) or
// scattering them. The order is fixed, so every run gives the same bits whatever the thread count.
type FloatArray = Float32Array | Float64Array;

/** One set of picks: latent `idx[b,j]` of vector b with coefficients `enc[b,j]` (∂u, times x_b) and `dec[b,j]`
 *  (u, times the vector's output gradient `outGrad[b,:]`). */
export interface PickSet {
  idx: BigInt64Array;
  enc: FloatArray;
  dec: FloatArray;
  outGrad: FloatArray;
  /** Picks per vector. */
  perVector: number;
}

export interface GradientSums<A extends FloatArray> {
  /** [K,d] */
  gradEnc: A;
  /** [K,d], the decoder gradient as rows (latent-major). */
  gradDecRows: A;
}

/** Adds each set's pairs into `into` (zeroed first): gradEnc[j] += enc·x_b, gradDecRows[j] += dec·outGrad_b. */
export function addGradientSums<A extends FloatArray>(x: FloatArray, d: number, sets: PickSet[], into: GradientSums<A>): void {
  const { gradEnc, gradDecRows } = into;
  gradEnc.fill(0);
  gradDecRows.fill(0);
  for (const s of sets) {
    const { idx, enc, dec, outGrad, perVector } = s;
    for (let n = 0; n < idx.length; n++) {
      const a = enc[n]!,
        c = dec[n]!;
      // A pair with both coefficients zero (not active) adds nothing.
      if (a === 0 && c === 0) continue;
      const row = Number(idx[n]!) * d;
      const b = Math.floor(n / perVector) * d;
      for (let p = 0; p < d; p++) {
        gradEnc[row + p] = gradEnc[row + p]! + a * x[b + p]!;
        gradDecRows[row + p] = gradDecRows[row + p]! + c * outGrad[b + p]!;
      }
    }
  }
}

/** [K]: vectors in which each latent was picked with a positive value. */
export function fireCounts<A extends FloatArray>(idx: BigInt64Array, u: FloatArray, into: A): A {
  into.fill(0);
  for (let n = 0; n < idx.length; n++) if (u[n]! > 0) into[Number(idx[n]!)]! += 1;
  return into;
}
