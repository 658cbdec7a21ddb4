// One training step of FaCT's bias-free TopK SAE as three ONNX graphs run back to back: (1) forward, loss and the
// per-(vector, latent) backward coefficients; (2) the sums of those coefficients into the weight gradients and the
// fire counts; (3) decoder-gradient projection, global-norm clipping, Adam, decoder renormalisation. Sparse
// formulation: only the k (and k_aux) active decoder rows of each vector are gathered; the B×K code matrix is never
// built (the B×K pre-activations are, as the encoder needs them).
//
// Why three graphs: the gradient is a sum over the (vector, latent) pairs, and the pairs of different vectors hit the
// same latent. onnxruntime 1.30's ScatterND(reduction='add') splits its updates over the intra-op threads without
// any locking, so on more than one thread it loses additions (1–3 % at 2 threads, a different set each run).
// ScatterElements(add) is exact but ~100× slower per element (865 ms vs 6 ms at the default shape), and a dense
// one-hot product costs two more B×K×d matrix products (≈4× the step). So graph (2) keeps ScatterND but runs in its own
// session with ONE intra-op thread (see trainStepSession.ts), where it adds in index order: exact and the same on every
// run and every machine. Graphs (1) and (3) use the thread count asked for; they have no scatter with collisions.
//
//   pre  = X·W_encᵀ                     [B,K]    (W_enc [K,d] = FaCT's encoder.weight)
//   u    = TopK_k(ReLU(pre))                     (TopK on pre, then ReLU: same set, no ties among zeros)
//   x̂    = Σ_j u_j · W_dec[:, j]        [B,d]    (W_dec [d,K] = FaCT's decoder.weight)
//   e    = x − x̂;  mse = mean_b Σ_d e²
//   AuxK = mean_b Σ_d (e − ê)² / mean_b Σ_d (e − mean_b e)², where ê is reconstructed from the top
//          min(auxkMax, #dead) ReLU pre-activations of the dead latents; e is a constant here (FaCT detaches it).
//          dead = deadCandidates ∧ ¬(fired in this batch): FaCT updates its counters before taking the loss.
//          A latent fires when it is selected with a positive value (FaCT also counts a selection with value 0,
//          which happens only when fewer than k pre-activations are positive; which zeros TopK picks is arbitrary).
//   loss = mse + auxkCoef·AuxK (AuxK = 0 when no latent is dead)
//
// Backward (∂/∂x̂ = −2e/B; ∂/∂ê = −2·auxkCoef·(e − ê)/(B·denom)):
//   ∂u_j      = ⟨∂x̂_b, W_dec[:, j]⟩ · [pre_j > 0]
//   ∂W_dec[:,j] += u_j·∂x̂_b        ∂W_enc[j,:] += ∂u_j·x_b          (scatter-add over the active (b, j))
// Then: remove from ∂W_dec the component parallel to each column; clip ‖(∂W_enc, ∂W_dec)‖ to clipNorm; Adam with
// bias correction (PyTorch's form); W_dec columns back to unit norm.
import { FactError } from '../errors';
import { GraphBuilder, attr, makeTensor, type AttrValue } from '../onnx/graphBuilder';
import { DataType } from '../onnx/schema';
import type { OnnxModel } from '../onnx/types';

export type StepDtype = 'float32' | 'float64';

/** The step's shape and hyper-parameters: the same for the ONNX graph and the TypeScript reference step. */
export interface StepHyper {
  dModel: number;
  dictSize: number;
  k: number;
  auxkMax: number;
  auxkCoef: number;
  clipNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export interface TrainStepGraphOptions extends StepHyper {
  /** Include the AuxK term and its `deadCandidates` input. Without it the graph is cheaper and loss = mse. */
  auxK: boolean;
  /** float64 makes the graph for gradient checks. */
  dtype?: StepDtype;
  /** Extra outputs `gradEnc` [K,d] / `gradDec` [d,K] (raw gradients, before projection and clipping). */
  gradientOutputs?: boolean;
  /** Take the AuxK residual e from an input `residual` [B,d] instead of computing it, so that finite differences
   *  of `loss` see e as the constant that the backward pass treats it as. */
  residualInput?: boolean;
}

type FloatArray = Float32Array | Float64Array;

/** Parameters and Adam moments in FaCT's layouts: W_enc, m/v_enc [K,d]; W_dec, m/v_dec [d,K]; `step` = steps taken. */
export interface StepState<A extends FloatArray = FloatArray> {
  wEnc: A;
  wDec: A;
  mEnc: A;
  vEnc: A;
  mDec: A;
  vDec: A;
  step: number;
}

/** Graph input names. `step` is the number of steps already taken (int64 scalar); `lr` the rate for this step. */
export const stepInputs = {
  x: 'x',
  wEnc: 'wEnc',
  wDec: 'wDec',
  mEnc: 'mEnc',
  vEnc: 'vEnc',
  mDec: 'mDec',
  vDec: 'vDec',
  step: 'step',
  lr: 'lr',
  deadCandidates: 'deadCandidates',
  residual: 'residual',
} as const;

/** Graph output names. Sums are over the batch, so a trainer can pool them over many batches. */
export const stepOutputs = {
  wEnc: 'wEncNew',
  wDec: 'wDecNew',
  mEnc: 'mEncNew',
  vEnc: 'vEncNew',
  mDec: 'mDecNew',
  vDec: 'vDecNew',
  loss: 'loss',
  mse: 'mse',
  auxLoss: 'auxLoss',
  /** [K]: vectors of the batch in which each latent was active (selected with a positive value). */
  fireCounts: 'fireCounts',
  /** Σ‖x‖², Σ‖x − mean x‖², Σ‖e‖², Σ‖e − mean e‖² over the batch (FVU = the last / the second). */
  sumSq: 'sumSq',
  sumSqCentered: 'sumSqCentered',
  sumSqErr: 'sumSqErr',
  sumSqErrCentered: 'sumSqErrCentered',
  gradEnc: 'gradEnc',
  gradDec: 'gradDec',
} as const;

/** torch.finfo(dtype).eps: FaCT's set_decoder_norm_to_unit_norm divides by ‖column‖ + eps. */
export const unitNormEps: Record<StepDtype, number> = { float32: 1.1920928955078125e-7, float64: 2.220446049250313e-16 };
/** Denominators FaCT adds elsewhere: remove_gradient_parallel… (1e-6) and clip_grad_norm_ (1e-6). */
export const projectionEps = 1e-6;
export const clipEps = 1e-6;
/** Keeps AuxK finite when the residual has no variance (all vectors reconstructed identically). */
export const auxDenominatorFloor = 1e-30;

/** Names passed from one of the step's graphs to the next (the trainer never sees them). */
export const stepLinks = {
  idx: 'idx',
  u: 'u',
  du: 'du',
  dXHat: 'dXHat',
  auxIdx: 'auxIdx',
  auxU: 'auxU',
  dAuxU: 'dAuxU',
  dAux: 'dAux',
  gradEnc: 'gradEncSum',
  gradDecRows: 'gradDecRowsSum',
} as const;

/** The step's three graphs, run in this order (see the header). */
export interface TrainStepGraphs {
  /** Forward, loss and metrics, and the backward coefficients of every active (vector, latent) pair. */
  coefficients: OnnxModel;
  /** Scatter-adds the coefficients into the raw gradients and fire counts. Must run on ONE intra-op thread. */
  accumulate: OnnxModel;
  /** Projection, clipping, Adam, renormalisation. */
  update: OnnxModel;
}

export function buildTrainStepGraphs(o: TrainStepGraphOptions): TrainStepGraphs {
  if (o.auxK && !(o.auxkMax >= 1))
    throw new FactError('internal', 'The AuxK step graph needs auxkMax ≥ 1; build it with auxK false instead.');
  return { coefficients: coefficientsGraph(o), accumulate: accumulateGraph(o), update: updateGraph(o) };
}

function coefficientsGraph(o: TrainStepGraphOptions): OnnxModel {
  const { dModel: d, dictSize: K, k } = o;
  const dt = o.dtype ?? 'float32';
  const g = new GraphBuilder(`sae_topk_train_coefficients_${dt}`);
  const ops = graphOps(g, dt, d);
  const { c, ints, op } = ops;
  const I = stepInputs,
    O = stepOutputs,
    L = stepLinks;

  const x = g.input(I.x, dt, ['B', d]);
  const wEnc = g.input(I.wEnc, dt, [K, d]);
  const wDec = g.input(I.wDec, dt, [d, K]);
  const deadCandidates = o.auxK ? g.input(I.deadCandidates, 'bool', [K]) : '';
  const residualIn = o.auxK && o.residualInput ? g.input(I.residual, dt, ['B', d]) : '';

  // ---- forward ----
  const batch = ops.cast(op('Gather', [op('Shape', [x]), g.constant('zero', 'int64', [], [0])], { axis: attr.int(0) }), dt);
  const pre = op('Gemm', [x, wEnc], { transB: attr.int(1) }); // [B,K]
  const [vals, idx] = g.node('TopK', [pre, ints([k])], { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(0) }, [
    'topVals',
    L.idx,
  ]) as [string, string];
  const active = op('Greater', [vals, c(0)]); // [B,k]
  const u = op('Relu', [vals], {}, L.u);
  const decRows = op('Transpose', [wDec], { perm: attr.ints([1, 0]) }); // [K,d]
  const rows = op('Gather', [decRows, idx], { axis: attr.int(0) }); // [B,k,d]
  const xHat = ops.weightedRows(u, rows); // [B,d]
  const e = op('Sub', [x, xHat]);
  const sumSqErr = ops.sumSq(e);
  const mse = op('Div', [sumSqErr, batch], {}, O.mse);

  // ---- backward coefficients of the reconstruction loss ----
  op('Mul', [e, op('Div', [c(-2), batch])], {}, L.dXHat); // [B,d]
  op('Where', [active, ops.rowDots(rows, L.dXHat), c(0)], {}, L.du); // [B,k]

  if (o.auxK) {
    // Dead latents: candidates from the trainer's counters, minus those that fired in this very batch. "Fired" is a
    // [K] mask written without any addition: every active pick writes 1 to its latent, every inactive one to a spare
    // slot K, so repeated latents write the same value and the result cannot depend on the order.
    const pick = op('Reshape', [op('Where', [active, idx, g.constant('spare', 'int64', [], [K])]), ints([-1])]);
    const ones = op('ConstantOfShape', [op('Shape', [pick])], { value: attr.tensor(makeTensor('', dt, [1], [1])) });
    const marks = op('ScatterElements', [op('ConstantOfShape', [ints([K + 1])], { value: ops.zeroValue }), pick, ones], {
      axis: attr.int(0),
    });
    const fired = op('Greater', [op('Slice', [marks, ints([0]), ints([K])]), c(0)]);
    const dead = op('And', [deadCandidates, op('Not', [fired])]); // [K]
    const deadCount = op('ReduceSum', [ops.cast(dead, dt)], { keepdims: attr.int(0) });
    const hasDead = ops.cast(op('Greater', [deadCount, c(0)]), dt);
    // k_aux = min(auxkMax, #dead), at least 1 so the shapes stay valid; with no dead latent the term is zeroed.
    const kAux = op('Reshape', [ops.cast(op('Max', [op('Min', [deadCount, c(o.auxkMax)]), c(1)]), 'int64'), ints([1])]);
    const masked = op('Where', [dead, pre, c(-Infinity)]);
    const [auxVals, auxIdx] = g.node('TopK', [masked, kAux], { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(0) }, [
      'auxVals',
      L.auxIdx,
    ]) as [string, string];
    const auxActive = op('Greater', [auxVals, c(0)]);
    const auxU = op('Relu', [auxVals], {}, L.auxU); // −∞ (not dead) → 0
    const auxRows = op('Gather', [decRows, auxIdx], { axis: attr.int(0) }); // [B,kAux,d]
    const residual = residualIn || e;
    const auxErr = op('Sub', [residual, ops.weightedRows(auxU, auxRows)]);
    const centred = op('Sub', [residual, op('ReduceMean', [residual, ints([0])], { keepdims: attr.int(1) })]);
    const denom = op('Max', [op('Div', [ops.sumSq(centred), batch]), c(auxDenominatorFloor)]);
    const auxLoss = op('Mul', [hasDead, op('Div', [op('Div', [ops.sumSq(auxErr), batch]), denom])], {}, O.auxLoss);
    op('Add', [mse, op('Mul', [auxLoss, c(o.auxkCoef)])], {}, O.loss);
    const auxScale = op('Div', [op('Mul', [hasDead, c(-2 * o.auxkCoef)]), op('Mul', [batch, denom])]);
    op('Mul', [auxErr, auxScale], {}, L.dAux); // [B,d]
    op('Where', [auxActive, ops.rowDots(auxRows, L.dAux), c(0)], {}, L.dAuxU);
  } else {
    op('Identity', [c(0)], {}, O.auxLoss);
    op('Identity', [mse], {}, O.loss);
  }

  // ---- metrics for FVU ----
  op('Identity', [ops.sumSq(x)], {}, O.sumSq);
  op('Identity', [ops.sumSq(op('Sub', [x, op('ReduceMean', [x, ints([0])], { keepdims: attr.int(1) })]))], {}, O.sumSqCentered);
  op('Identity', [sumSqErr], {}, O.sumSqErr);
  op('Identity', [ops.sumSq(op('Sub', [e, op('ReduceMean', [e, ints([0])], { keepdims: attr.int(1) })]))], {}, O.sumSqErrCentered);

  for (const n of [O.loss, O.mse, O.auxLoss, O.sumSq, O.sumSqCentered, O.sumSqErr, O.sumSqErrCentered]) g.output(n, dt, []);
  g.output(L.idx, 'int64', ['B', k]);
  g.output(L.u, dt, ['B', k]);
  g.output(L.du, dt, ['B', k]);
  g.output(L.dXHat, dt, ['B', d]);
  if (o.auxK) {
    g.output(L.auxIdx, 'int64', ['B', 'kAux']);
    g.output(L.auxU, dt, ['B', 'kAux']);
    g.output(L.dAuxU, dt, ['B', 'kAux']);
    g.output(L.dAux, dt, ['B', d]);
  }
  return g.model(18);
}

function accumulateGraph(o: TrainStepGraphOptions): OnnxModel {
  const { dModel: d, dictSize: K, k } = o;
  const dt = o.dtype ?? 'float32';
  const g = new GraphBuilder(`sae_topk_train_accumulate_${dt}`);
  const ops = graphOps(g, dt, d);
  const { c, ints, op } = ops;
  const L = stepLinks;
  const x = g.input(stepInputs.x, dt, ['B', d]);
  const idx = g.input(L.idx, 'int64', ['B', k]);
  const u = g.input(L.u, dt, ['B', k]);
  const du = g.input(L.du, dt, ['B', k]);
  const dXHat = g.input(L.dXHat, dt, ['B', d]);
  const column = (t: string) => op('Reshape', [t, ints([-1, 1])]);
  const latentIdx = [column(idx)];
  const decUpdates = [ops.outerRows(u, dXHat)]; // [B·k,d]
  const encUpdates = [ops.outerRows(du, x)];
  if (o.auxK) {
    const auxIdx = g.input(L.auxIdx, 'int64', ['B', 'kAux']);
    const auxU = g.input(L.auxU, dt, ['B', 'kAux']);
    const dAuxU = g.input(L.dAuxU, dt, ['B', 'kAux']);
    const dAux = g.input(L.dAux, dt, ['B', d]);
    latentIdx.push(column(auxIdx));
    decUpdates.push(ops.outerRows(auxU, dAux));
    encUpdates.push(ops.outerRows(dAuxU, x));
  }
  // The AuxK updates are chained after the main ones, not concatenated: at FaCT's sizes they are B·k_aux·d values,
  // gigabytes to copy. Each chain starts from its own zeros, so onnxruntime can scatter in place.
  const scatterAdd = (updates: string[], out: string) =>
    updates.reduce(
      (acc, upd, i) =>
        op('ScatterND', [acc, latentIdx[i]!, upd], { reduction: attr.string('add') }, i === updates.length - 1 ? out : undefined),
      op('ConstantOfShape', [ints([K, d])], { value: ops.zeroValue }),
    );
  scatterAdd(encUpdates, L.gradEnc); // [K,d]
  scatterAdd(decUpdates, L.gradDecRows); // [K,d]
  op(
    'ScatterND',
    [
      op('ConstantOfShape', [ints([K])], { value: ops.zeroValue }),
      latentIdx[0]!,
      op('Reshape', [ops.cast(op('Greater', [u, c(0)]), dt), ints([-1])]),
    ],
    { reduction: attr.string('add') },
    stepOutputs.fireCounts,
  );
  g.output(L.gradEnc, dt, [K, d]);
  g.output(L.gradDecRows, dt, [K, d]);
  g.output(stepOutputs.fireCounts, dt, [K]);
  return g.model(18);
}

function updateGraph(o: TrainStepGraphOptions): OnnxModel {
  const { dModel: d, dictSize: K } = o;
  const dt = o.dtype ?? 'float32';
  const g = new GraphBuilder(`sae_topk_train_update_${dt}`);
  const ops = graphOps(g, dt, d);
  const { c, op } = ops;
  const I = stepInputs,
    O = stepOutputs,
    L = stepLinks;
  const wEnc = g.input(I.wEnc, dt, [K, d]);
  const wDec = g.input(I.wDec, dt, [d, K]);
  const mEnc = g.input(I.mEnc, dt, [K, d]);
  const vEnc = g.input(I.vEnc, dt, [K, d]);
  const mDec = g.input(I.mDec, dt, [d, K]);
  const vDec = g.input(I.vDec, dt, [d, K]);
  const step = g.input(I.step, 'int64', []);
  const lr = g.input(I.lr, dt, []);
  const gradEnc = g.input(L.gradEnc, dt, [K, d]);
  const gradDec = op(
    'Transpose',
    [g.input(L.gradDecRows, dt, [K, d])],
    { perm: attr.ints([1, 0]) },
    o.gradientOutputs ? O.gradDec : undefined,
  ); // [d,K]

  // ---- remove the decoder-gradient component parallel to each column: g −= ⟨g, ŵ⟩ŵ, ŵ = w/(‖w‖ + 1e-6) ----
  const invNorm = op('Reciprocal', [op('Add', [op('Sqrt', [ops.sumSqCols(wDec)]), c(projectionEps)])]); // [1,K]
  const parallel = op('Mul', [
    op('ReduceSum', [op('Mul', [gradDec, wDec]), ops.ints([0])], { keepdims: attr.int(1) }),
    op('Mul', [invNorm, invNorm]),
  ]);
  const gradDecPerp = op('Sub', [gradDec, op('Mul', [parallel, wDec])]);

  // ---- global-norm clipping (torch.nn.utils.clip_grad_norm_), folded into Adam's gradient coefficients ----
  const totalNorm = op('Sqrt', [op('Add', [ops.sumSq(gradEnc), ops.sumSq(gradDecPerp)])]);
  const clip = op('Min', [c(1), op('Div', [c(o.clipNorm), op('Add', [totalNorm, c(clipEps)])])]);

  // ---- Adam (torch.optim.Adam): m' = β1 m + (1−β1)g; v' = β2 v + (1−β2)g²; p' = p − lr/bc1 · m'/(√v'/√bc2 + eps),
  //      computed as p − (lr·√bc2/bc1) · m'/(√v' + eps·√bc2): the same value with one pass less over each tensor ----
  const t = ops.cast(op('Add', [step, g.constant('one', 'int64', [], [1])]), dt);
  const bc1 = op('Sub', [c(1), op('Pow', [c(o.beta1), t])]);
  const sqrtBc2 = op('Sqrt', [op('Sub', [c(1), op('Pow', [c(o.beta2), t])])]);
  const stepSize = op('Div', [op('Mul', [lr, sqrtBc2]), bc1]);
  const epsHat = op('Mul', [c(o.eps), sqrtBc2]);
  const gCoef1 = op('Mul', [clip, c(1 - o.beta1)]);
  const gCoef2 = op('Mul', [op('Mul', [clip, clip]), c(1 - o.beta2)]);
  const adam = (p: string, grad: string, m: string, v: string, names: { p: string; m: string; v: string }) => {
    const m2 = op('Add', [op('Mul', [m, c(o.beta1)]), op('Mul', [grad, gCoef1])], {}, names.m);
    const v2 = op('Add', [op('Mul', [v, c(o.beta2)]), op('Mul', [op('Mul', [grad, grad]), gCoef2])], {}, names.v);
    const denom = op('Add', [op('Sqrt', [v2]), epsHat]);
    return op('Sub', [p, op('Mul', [op('Div', [m2, denom]), stepSize])], {}, names.p);
  };
  adam(wEnc, gradEnc, mEnc, vEnc, { p: O.wEnc, m: O.mEnc, v: O.vEnc });
  const wDecStepped = adam(wDec, gradDecPerp, mDec, vDec, { p: g.fresh('wDecStepped'), m: O.mDec, v: O.vDec });

  // ---- decoder columns back to unit norm ----
  op('Div', [wDecStepped, op('Add', [op('Sqrt', [ops.sumSqCols(wDecStepped)]), c(unitNormEps[dt])])], {}, O.wDec);

  g.output(O.wEnc, dt, [K, d]);
  g.output(O.wDec, dt, [d, K]);
  g.output(O.mEnc, dt, [K, d]);
  g.output(O.vEnc, dt, [K, d]);
  g.output(O.mDec, dt, [d, K]);
  g.output(O.vDec, dt, [d, K]);
  if (o.gradientOutputs) g.output(O.gradDec, dt, [d, K]);
  return g.model(18);
}

/** Small graph idioms shared by the training step and the encoder. */
export function graphOps(g: GraphBuilder, dt: StepDtype, d: number) {
  const op = (type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string) => g.op(type, inputs, attrs, out);
  const scalars = new Map<number, string>();
  /** A scalar of the working element type (deduplicated). */
  const c = (v: number): string => {
    let name = scalars.get(v);
    if (!name) scalars.set(v, (name = g.constant('c', dt, [], [v])));
    return name;
  };
  const ints = (v: number[]): string => g.constant('i', 'int64', [v.length], v);
  const cast = (t: string, to: 'float32' | 'float64' | 'int64') => op('Cast', [t], { to: attr.int(DataType[to]) });
  return {
    op,
    c,
    ints,
    cast,
    zeroValue: attr.tensor(makeTensor('', dt, [1], [0])),
    /** Σ of all squares, a scalar. */
    sumSq: (t: string) => op('ReduceSumSquare', [t], { keepdims: attr.int(0) }),
    /** Σ over rows of the squares of a [d,K] matrix: [1,K]. (ReduceSumSquare over axis 0 has no fast kernel in
     *  onnxruntime 1.30 — 400 ms at 2048×16384 — while Mul + ReduceSum over axis 0 takes a fifth of that.) */
    sumSqCols: (t: string) => op('ReduceSum', [op('Mul', [t, t]), ints([0])], { keepdims: attr.int(1) }),
    /** Σ_j w[b,j]·rows[b,j,:] → [B,d]. */
    weightedRows: (w: string, rows: string) => op('Squeeze', [op('MatMul', [op('Unsqueeze', [w, ints([1])]), rows]), ints([1])]),
    /** ⟨rows[b,j,:], v[b,:]⟩ → [B,k]. */
    rowDots: (rows: string, v: string) => op('Squeeze', [op('MatMul', [rows, op('Unsqueeze', [v, ints([2])])]), ints([2])]),
    /** w[b,j]·v[b,:] as rows [B·k, d] (the scatter-add updates). */
    outerRows: (w: string, v: string) =>
      op('Reshape', [op('MatMul', [op('Unsqueeze', [w, ints([2])]), op('Unsqueeze', [v, ints([1])])]), ints([-1, d])]),
  };
}
