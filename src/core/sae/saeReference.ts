// The SAE training step of trainStepGraph.ts written out plainly in float64 TypeScript — loops, no tricks — so the
// tests can check the graph against something a person can read line by line. Far too slow for real training.
import { auxDenominatorFloor, clipEps, projectionEps, unitNormEps, type StepDtype, type StepHyper, type StepState } from './trainStepGraph';

export type { StepHyper };

export interface ReferenceStepInput {
  /** [batch, d] */
  x: ArrayLike<number>;
  batch: number;
  state: StepState;
  lr: number;
  /** [K]; omitted: no AuxK term (like the graph built with auxK false). */
  deadCandidates?: ArrayLike<boolean | number>;
  /** Fixed AuxK residual [batch, d] (the graph's residualInput); default x − x̂. */
  residual?: ArrayLike<number>;
  /** Which eps renormalises the decoder (the graph's element type). */
  dtype?: StepDtype;
}

export interface ReferenceStepResult {
  state: StepState<Float64Array>;
  loss: number;
  mse: number;
  auxLoss: number;
  fireCounts: Float64Array;
  sumSq: number;
  sumSqCentered: number;
  sumSqErr: number;
  sumSqErrCentered: number;
  /** x − x̂ [batch, d] */
  error: Float64Array;
  /** Raw gradients (before projection and clipping): [K,d] and [d,K]. */
  gradEnc: Float64Array;
  gradDec: Float64Array;
}

/** Indices of the `count` largest entries of `values` among those `allowed` (all when omitted), largest first. */
export function topIndices(values: ArrayLike<number>, count: number, allowed?: (j: number) => boolean): number[] {
  const order: number[] = [];
  for (let j = 0; j < values.length; j++) if (!allowed || allowed(j)) order.push(j);
  order.sort((a, b) => values[b]! - values[a]! || a - b);
  return order.slice(0, count);
}

export function referenceTrainStep(input: ReferenceStepInput, h: StepHyper): ReferenceStepResult {
  const { dModel: d, dictSize: K, k } = h;
  const { x, batch: B, state: s } = input;
  const wEnc = (j: number, p: number) => s.wEnc[j * d + p]!;
  const wDec = (p: number, j: number) => s.wDec[p * K + j]!;
  const gradEnc = new Float64Array(K * d);
  const gradDec = new Float64Array(d * K);
  const fireCounts = new Float64Array(K);
  const pre: Float64Array[] = [];
  const selected: number[][] = [];
  const e = new Float64Array(B * d);

  // Forward: pre-activations, top-k, reconstruction, error.
  for (let b = 0; b < B; b++) {
    const row = new Float64Array(K);
    for (let j = 0; j < K; j++) for (let p = 0; p < d; p++) row[j]! += x[b * d + p]! * wEnc(j, p);
    pre.push(row);
    selected.push(topIndices(row, k));
    for (let p = 0; p < d; p++) {
      let xHat = 0;
      for (const j of selected[b]!) xHat += Math.max(0, row[j]!) * wDec(p, j);
      e[b * d + p] = x[b * d + p]! - xHat;
    }
    for (const j of selected[b]!) if (row[j]! > 0) fireCounts[j]!++;
  }
  const sumSqErr = sum(e, (v) => v * v);
  const mse = sumSqErr / B;

  // Backward of mse: ∂x̂ = −2e/B, then through the active latents.
  const backprop = (b: number, latents: number[], dOut: (p: number) => number) => {
    for (const j of latents) {
      const u = Math.max(0, pre[b]![j]!);
      let du = 0;
      for (let p = 0; p < d; p++) {
        du += dOut(p) * wDec(p, j);
        gradDec[p * K + j]! += u * dOut(p);
      }
      if (pre[b]![j]! > 0) for (let p = 0; p < d; p++) gradEnc[j * d + p]! += du * x[b * d + p]!;
    }
  };
  for (let b = 0; b < B; b++) backprop(b, selected[b]!, (p) => (-2 * e[b * d + p]!) / B);

  // AuxK: dead latents (not firing in this batch either) reconstruct the residual.
  let auxLoss = 0;
  if (input.deadCandidates) {
    const dead = (j: number) => Boolean(input.deadCandidates![j]) && fireCounts[j] === 0;
    let deadCount = 0;
    for (let j = 0; j < K; j++) if (dead(j)) deadCount++;
    if (deadCount > 0) {
      const r = input.residual ?? e;
      const kAux = Math.min(h.auxkMax, deadCount);
      const auxSel = pre.map((row) => topIndices(row, kAux, dead));
      const auxErr = new Float64Array(B * d);
      for (let b = 0; b < B; b++)
        for (let p = 0; p < d; p++) {
          let rec = 0;
          for (const j of auxSel[b]!) rec += Math.max(0, pre[b]![j]!) * wDec(p, j);
          auxErr[b * d + p] = r[b * d + p]! - rec;
        }
      const denom = Math.max(centredSumSq(r, B, d) / B, auxDenominatorFloor);
      auxLoss = sum(auxErr, (v) => v * v) / B / denom;
      for (let b = 0; b < B; b++) backprop(b, auxSel[b]!, (p) => (-2 * h.auxkCoef * auxErr[b * d + p]!) / (B * denom));
    }
  }
  const loss = mse + h.auxkCoef * auxLoss;

  // Decoder gradient minus its component along each (normalised) column.
  const gradDecPerp = gradDec.slice();
  for (let j = 0; j < K; j++) {
    let norm = 0;
    for (let p = 0; p < d; p++) norm += wDec(p, j) ** 2;
    norm = Math.sqrt(norm) + projectionEps;
    let along = 0;
    for (let p = 0; p < d; p++) along += (gradDec[p * K + j]! * wDec(p, j)) / norm;
    for (let p = 0; p < d; p++) gradDecPerp[p * K + j]! -= (along * wDec(p, j)) / norm;
  }

  // Global-norm clipping.
  const totalNorm = Math.sqrt(sum(gradEnc, (v) => v * v) + sum(gradDecPerp, (v) => v * v));
  const clip = Math.min(1, h.clipNorm / (totalNorm + clipEps));

  // Adam, PyTorch's form.
  const t = s.step + 1;
  const adam = (p: ArrayLike<number>, grad: Float64Array, m: ArrayLike<number>, v: ArrayLike<number>) => {
    const P = new Float64Array(p.length),
      M = new Float64Array(p.length),
      V = new Float64Array(p.length);
    const bc1 = 1 - h.beta1 ** t,
      bc2 = 1 - h.beta2 ** t;
    for (let i = 0; i < p.length; i++) {
      const gi = clip * grad[i]!;
      M[i] = h.beta1 * m[i]! + (1 - h.beta1) * gi;
      V[i] = h.beta2 * v[i]! + (1 - h.beta2) * gi * gi;
      P[i] = p[i]! - (input.lr / bc1) * (M[i]! / (Math.sqrt(V[i]!) / Math.sqrt(bc2) + h.eps));
    }
    return [P, M, V] as const;
  };
  const [newEnc, mEnc, vEnc] = adam(s.wEnc, gradEnc, s.mEnc, s.vEnc);
  const [newDec, mDec, vDec] = adam(s.wDec, gradDecPerp, s.mDec, s.vDec);

  // Decoder columns back to unit norm (FaCT divides by ‖column‖ + eps of the element type).
  for (let j = 0; j < K; j++) {
    let norm = 0;
    for (let p = 0; p < d; p++) norm += newDec[p * K + j]! ** 2;
    norm = Math.sqrt(norm) + unitNormEps[input.dtype ?? 'float64'];
    for (let p = 0; p < d; p++) newDec[p * K + j]! /= norm;
  }

  return {
    state: { wEnc: newEnc, wDec: newDec, mEnc, vEnc, mDec, vDec, step: t },
    loss,
    mse,
    auxLoss,
    fireCounts,
    sumSq: sum(x, (v) => v * v),
    sumSqCentered: centredSumSq(x, B, d),
    sumSqErr,
    sumSqErrCentered: centredSumSq(e, B, d),
    error: e,
    gradEnc,
    gradDec,
  };
}

function sum(a: ArrayLike<number>, f: (v: number) => number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += f(a[i]!);
  return s;
}

/** Σ_b ‖a_b − mean_b a‖² of a [B,d] matrix. */
function centredSumSq(a: ArrayLike<number>, B: number, d: number): number {
  let s = 0;
  for (let p = 0; p < d; p++) {
    let mean = 0;
    for (let b = 0; b < B; b++) mean += a[b * d + p]!;
    mean /= B;
    for (let b = 0; b < B; b++) s += (a[b * d + p]! - mean) ** 2;
  }
  return s;
}
