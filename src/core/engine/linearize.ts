// Linearize: classify every tensor of a graph by how it depends on the explained input x.
//   const   — does not depend on x (weights, shapes computed from weights, …)
//   linear  — built from x through linear operations, where every input-dependent factor of a product (the B-cos
//             |cos| scale, a patch norm, a LayerNorm's variance, an attention matrix) and every selection (ReLU,
//             MaxPool, max-out) is frozen at its value for this input: B-cos-v2's explanation mode
//   affine  — linear plus a constant (a logit bias; a positional embedding)
//   dynamic — depends on x in any other way (|·|, √, a product of two linear tensors, softmax, …); such tensors
//             are the frozen factors, never differentiated through
// A tensor whose node cannot be transposed, or carries a bias where none may be, is linear but has a `problem`;
// the problem becomes an error only if the tensor lies on the path the explanation walks back along.
import { attrString } from '../onnx/attributes';
import { isAllZero, type ConstantValue } from '../onnx/constants';
import type { OnnxNode } from '../onnx/types';

export type Kind = 'const' | 'linear' | 'affine' | 'dynamic';

export interface Linearization {
  kind: Map<string, Kind>;
  /** Why a tensor became dynamic: the node that made it so, in words. */
  dynamicBecause: Map<string, string>;
  /** Linear tensors that cannot be transposed, with the reason (a bias, an unsupported op). */
  problem: Map<string, string>;
  /** Nodes where a constant joins the linear path (their outputs are affine). */
  biasNodes: OnnxNode[];
}

/** Ops that are non-linear functions of their inputs: their outputs are dynamic factors. */
const NONLINEAR = new Set([
  'Abs',
  'Sqrt',
  'Pow',
  'Exp',
  'Log',
  'Softmax',
  'LogSoftmax',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Reciprocal',
  'Sign',
  'Sin',
  'Cos',
  'Softplus',
  'Softsign',
  'Gelu',
  'HardSigmoid',
  'HardSwish',
  'Mish',
  'Elu',
  'Selu',
  'Celu',
  'Floor',
  'Ceil',
  'Round',
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'ArgMax',
  'ArgMin',
  'ReduceL2',
  'ReduceL1',
  'ReduceSumSquare',
  'ReduceLogSumExp',
  'ReduceProd',
  'LpNormalization',
  'IsNaN',
  'IsInf',
  'NonZero',
  'CumSum',
]);
/** Ops whose only input-dependence is through a shape: their outputs are constants. */
const SHAPE_ONLY = new Set(['Shape', 'Size', 'ConstantOfShape', 'EyeLike']);
/** Unary ops that are linear in their first input when the other inputs are constant. */
const LINEAR_UNARY = new Set([
  'Identity',
  'Dropout',
  'Cast',
  'Neg',
  'Reshape',
  'Flatten',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Expand',
  'Slice',
  'Pad',
  'Gather',
  'GlobalAveragePool',
  'AveragePool',
  'ReduceSum',
  'ReduceMean',
  'Split',
  'Conv',
  'ConvTranspose',
  'BatchNormalization',
  'LayerNormalization',
  'InstanceNormalization',
]);
/** Ops that select among their inputs' entries; the selection is frozen, so they act linearly. */
const SELECTION = new Set(['Relu', 'LeakyRelu', 'MaxPool', 'ReduceMax', 'ReduceMin', 'Max', 'Min', 'Where']);
/** Ops that add or stack their inputs. */
const ADDITIVE = new Set(['Add', 'Sub', 'Sum', 'Concat', 'Mean']);

export function describeNode(n: OnnxNode): string {
  return `${n.opType} '${n.name || n.output[0]}'`;
}

export function linearize(order: OnnxNode[], from: string, constant: (name: string) => ConstantValue | undefined): Linearization {
  const kind = new Map<string, Kind>([[from, 'linear']]);
  const dynamicBecause = new Map<string, string>();
  const problem = new Map<string, string>();
  const biasNodes: OnnxNode[] = [];
  const kindOf = (t: string): Kind => (t ? (kind.get(t) ?? 'const') : 'const');
  const producers = new Map<string, OnnxNode>();
  for (const n of order) for (const o of n.output) if (o) producers.set(o, n);
  const producerOf = (t: string) => producers.get(t);
  const isVar = (k: Kind) => k === 'linear' || k === 'affine';

  for (const n of order) {
    if (n.output.includes(from)) continue; // the input encoding (if in the graph) is upstream of x
    const ins = n.input.map(kindOf);
    const out = (k: Kind, why?: string, trouble?: string) => {
      for (const o of n.output) {
        if (!o) continue;
        kind.set(o, k);
        if (why) dynamicBecause.set(o, why);
        if (trouble) problem.set(o, trouble);
      }
    };
    if (ins.every((k) => k === 'const')) continue;
    if (SHAPE_ONLY.has(n.opType)) {
      out('const');
      continue;
    }
    const firstDynamic = n.input.find((_, i) => ins[i] === 'dynamic');
    const inherit = () => (firstDynamic ? dynamicBecause.get(firstDynamic) : undefined);
    const anyAffine = ins.some((k) => k === 'affine');
    const result = (linearIsAffine: boolean) => (linearIsAffine || anyAffine ? 'affine' : 'linear');

    if (NONLINEAR.has(n.opType)) {
      out('dynamic', `${describeNode(n)} is not linear`);
      continue;
    }
    if (n.opType === 'Mul' || n.opType === 'MatMul' || n.opType === 'Einsum') {
      const vars = ins.filter(isVar).length;
      if (vars >= 2) out('dynamic', `${describeNode(n)} multiplies two tensors that both depend linearly on the input`);
      else if (vars === 1) out(result(false));
      else out('dynamic', inherit());
      if (n.opType === 'Einsum' && vars === 1)
        problem.set(n.output[0]!, `${describeNode(n)} is on the linear path, and the transposer does not support Einsum`);
      continue;
    }
    if (n.opType === 'Div') {
      if (isVar(ins[0]!) && !isVar(ins[1]!)) out(result(false));
      else out('dynamic', isVar(ins[1]!) ? `${describeNode(n)} divides by a tensor that depends linearly on the input` : inherit());
      continue;
    }
    if (n.opType === 'Gemm') {
      if (isVar(ins[0]!) && !isVar(ins[1]!)) {
        const c = n.input[2];
        const hasBias = !!c && !(ins[2] === 'const' && isAllZero(constant(c)));
        out(result(false), undefined, hasBias ? `${describeNode(n)} has a bias: contributions would not sum to the logit` : undefined);
      } else
        out('dynamic', isVar(ins[1]!) ? `${describeNode(n)} multiplies two tensors that both depend linearly on the input` : inherit());
      continue;
    }
    if (ADDITIVE.has(n.opType)) {
      if (!ins.some(isVar)) {
        out('dynamic', inherit());
        continue;
      }
      if (ins.some((k) => k === 'dynamic')) {
        out('dynamic', `${describeNode(n)} adds an input-dependent non-linear term`);
        continue;
      }
      const constantsJoin = n.input.some((t, i) => ins[i] === 'const' && t && !isAllZero(constant(t)));
      if (constantsJoin && n.opType !== 'Concat') biasNodes.push(n);
      out(result(constantsJoin), undefined, constantsJoin ? groupNormBias(n, producerOf) : undefined);
      continue;
    }
    if (SELECTION.has(n.opType)) {
      if (n.opType === 'Where') {
        if (isVar(ins[1]!) || isVar(ins[2]!))
          out(result(n.input.slice(1).some((t, i) => ins[i + 1] === 'const' && !isAllZero(constant(t)))));
        else out('dynamic', inherit());
        continue;
      }
      if (n.opType === 'Max' || n.opType === 'Min') {
        if (!ins.some(isVar)) {
          out('dynamic', inherit());
          continue;
        }
        if (ins.some((k) => k === 'dynamic')) {
          out('dynamic', `${describeNode(n)} selects between the input and a non-linear term`);
          continue;
        }
        const consts = n.input.filter((_, i) => ins[i] === 'const');
        out(result(consts.some((t) => !isAllZero(constant(t)))));
        if (n.input.length !== 2) problem.set(n.output[0]!, `${describeNode(n)} has ${n.input.length} inputs; the transposer supports two`);
        continue;
      }
      if (!isVar(ins[0]!)) {
        out('dynamic', inherit());
        continue;
      }
      out(result(false));
      for (const o of n.output.slice(1)) if (o) kind.set(o, 'const'); // MaxPool indices
      continue;
    }
    if (LINEAR_UNARY.has(n.opType)) {
      if (!isVar(ins[0]!)) {
        out('dynamic', inherit());
        continue;
      }
      if (ins.slice(1).some(isVar)) {
        out('dynamic', `${describeNode(n)} takes an input-dependent ${n.opType === 'Conv' ? 'weight' : 'parameter'}`);
        continue;
      }
      out(result(false), undefined, biasProblem(n, constant));
      if (n.opType === 'Pad' && attrString(n, 'mode', 'constant') === 'constant' && n.input[2] && !isAllZero(constant(n.input[2]))) {
        problem.set(n.output[0]!, `${describeNode(n)} pads with a non-zero constant`);
      }
      for (const o of n.output.slice(1)) if (o && n.opType !== 'Split') kind.set(o, 'dynamic'); // LayerNorm mean/inv-std
      continue;
    }
    if (!ins.some(isVar)) {
      out('dynamic', inherit());
      continue;
    }
    // Anything else on the linear path: it may well be linear, but we cannot transpose it.
    out('linear', undefined, `${describeNode(n)} is on the linear path, and the transposer does not support ${n.opType}`);
  }
  return { kind, dynamicBecause, problem, biasNodes };
}

/**
 * torch exports GroupNorm as InstanceNormalization on (N, G, ·) → Reshape back → Mul γ → Add β. A non-zero β is a
 * bias on the path, like a convolution's: B-cos models use bias-free norms, and the contributions would not sum to
 * the logit. (A constant added anywhere else, such as a ViT's positional embedding, is the bias term's business.)
 */
function groupNormBias(add: OnnxNode, producerOf: (t: string) => OnnxNode | undefined): string | undefined {
  if (add.opType !== 'Add') return undefined;
  for (const t of add.input) {
    const mul = producerOf(t);
    if (mul?.opType !== 'Mul') continue;
    for (const m of mul.input) {
      let p = producerOf(m);
      if (p?.opType === 'Reshape') p = producerOf(p.input[0]!);
      if (p?.opType === 'InstanceNormalization') {
        return `${describeNode(add)} adds a non-zero affine bias after the group norm ${describeNode(p)}: a bias on the path, so contributions would not sum to the logit (use a bias-free norm, affine bias zero)`;
      }
    }
  }
  return undefined;
}

function biasProblem(n: OnnxNode, constant: (name: string) => ConstantValue | undefined): string | undefined {
  const bias = (name: string | undefined) => !!name && !isAllZero(constant(name));
  const msg = `${describeNode(n)} has a bias: contributions would not sum to the logit`;
  if ((n.opType === 'Conv' || n.opType === 'ConvTranspose') && bias(n.input[2])) return msg;
  if ((n.opType === 'LayerNormalization' || n.opType === 'InstanceNormalization') && bias(n.input[2])) return msg;
  if (n.opType === 'BatchNormalization') {
    const scale = constant(n.input[1]!);
    const b = constant(n.input[2]!);
    const mean = constant(n.input[3]!);
    if (!scale || !b || !mean) return `${describeNode(n)} has non-constant parameters`;
    // The effective bias is B − scale·mean/√(var+ε): zero exactly when B and mean are zero.
    if (!isAllZero(b) || !isAllZero(mean)) return msg;
  }
  return undefined;
}
