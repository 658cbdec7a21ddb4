// Transpose: from the frozen forward pass, emit the vector–Jacobian product of the linear path as ONNX nodes.
// Cotangents carry their own batch M, which is either the forward batch N (one cotangent per image), any M when
// N = 1 (many cotangents for one image: concept traces; frozen factors broadcast from batch 1), or any M when each
// row names its image (the graph gathers the frozen factors per row first; explanationGraph.ts). So no rule ever
// sums over axis 0, and every reshape takes its batch from the cotangent.
import { FactError } from '../errors';
import { attrFloat, attrInt, attrInts, attrString } from '../onnx/attributes';
import type { ConstantValue } from '../onnx/constants';
import { attr } from '../onnx/graphBuilder';
import type { OnnxNode } from '../onnx/types';
import type { Emitter } from './emit';
import { describeNode, type Linearization } from './linearize';
import { polyphaseConvTranspose } from './polyphaseConvTranspose';

export interface TransposeContext {
  e: Emitter;
  lin: Linearization;
  /** Static shape of a tensor at batch 1 (from the probe pass). */
  shape: (t: string) => number[];
  constant: (t: string) => ConstantValue | undefined;
  /** Forward-pass tensors added for the transposition (MaxPool indices, LayerNorm inverse std), by node. */
  extraForward: Map<OnnxNode, string[]>;
}

export interface TransposeResult {
  /** Cotangent tensor per requested tensor (absent when no path reaches it). */
  gradients: Map<string, string>;
  /** Input-dependent factors and selections held fixed, in the order met. */
  frozen: string[];
}

const isVar = (lin: Linearization, t: string) => {
  const k = lin.kind.get(t);
  return k === 'linear' || k === 'affine';
};

/** Nodes on the linear path from `from` to `to`, in forward order. */
export function linearPath(order: OnnxNode[], lin: Linearization, from: string, to: string): OnnxNode[] {
  const reaches = new Set([to]);
  const path: OnnxNode[] = [];
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    if (n.output.includes(from)) continue; // the path starts at `from`: what computes it is not part of it
    if (!n.output.some((o) => reaches.has(o) && isVar(lin, o))) continue;
    const varInputs = n.input.filter((i) => i && isVar(lin, i));
    if (varInputs.length === 0) continue;
    path.push(n);
    for (const i of varInputs) reaches.add(i);
  }
  if (!reaches.has(from)) {
    throw new FactError('unsupported-model', `'${to}' does not depend linearly on '${from}'.`, { from, to });
  }
  return path.reverse();
}

export function transpose(ctx: TransposeContext, path: OnnxNode[], to: string, cotangent: string, wanted: string[]): TransposeResult {
  const { e, lin } = ctx;
  const cot = new Map<string, string[]>([[to, [cotangent]]]);
  const frozen: string[] = [];
  const add = (t: string, g: string) => {
    const list = cot.get(t);
    if (list) list.push(g);
    else cot.set(t, [g]);
  };
  const wantedSet = new Set(wanted);
  const gradients = new Map<string, string>();
  for (let k = path.length - 1; k >= 0; k--) {
    const n = path[k]!;
    const outs = n.output.map((o) => (cot.has(o) ? e.sum(cot.get(o)!) : undefined));
    for (const [i, o] of n.output.entries()) if (outs[i] && wantedSet.has(o)) gradients.set(o, outs[i]!);
    if (outs.every((g) => g === undefined)) continue;
    for (const o of n.output) {
      const p = lin.problem.get(o);
      if (p) throw new FactError('unsupported-model', p, { node: n.name, op: n.opType });
    }
    for (const [input, g] of rule(ctx, n, outs, frozen)) if (isVar(lin, input)) add(input, g);
  }
  for (const w of wanted) {
    if (gradients.has(w)) continue;
    const list = cot.get(w);
    if (list) gradients.set(w, e.sum(list));
  }
  return { gradients, frozen };
}

/** Sums a cotangent shaped like `y` down to the shape of an input `a` that was broadcast into `y` (never axis 0). */
function unbroadcast(ctx: TransposeContext, g: string, a: string, y: string): string {
  const sa = ctx.shape(a);
  const sy = ctx.shape(y);
  if (sa.length !== sy.length) {
    throw new FactError(
      'unsupported-model',
      `'${a}' (rank ${sa.length}) is broadcast to rank ${sy.length}; linear tensors must keep their batch axis.`,
    );
  }
  const axes = sa.map((d, i) => (i > 0 && d === 1 && sy[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  return ctx.e.reduceSum(g, axes, true);
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function unsupported(n: OnnxNode, why: string): FactError {
  return new FactError('unsupported-model', `${describeNode(n)} cannot be transposed: ${why}.`, { node: n.name, op: n.opType });
}

/** The VJP rule of one node: pairs of (input tensor, its cotangent contribution). */
function rule(ctx: TransposeContext, n: OnnxNode, outs: (string | undefined)[], frozen: string[]): [string, string][] {
  const { e, lin, shape } = ctx;
  const b = e.b;
  const [x, p1, p2] = n.input as [string, string | undefined, string | undefined];
  const y = n.output[0]!;
  const g = outs[0]!;
  const freeze = (t: string) => {
    if (lin.kind.get(t) === 'dynamic' && !frozen.includes(t)) frozen.push(t);
  };
  const restOf = (t: string) => shape(t).slice(1);

  switch (n.opType) {
    case 'Identity':
    case 'Dropout':
    case 'Cast':
      return [[x, g]];
    case 'Neg':
      return [[x, b.op('Neg', [g])]];
    case 'Add':
    case 'Sum':
    case 'Mean': {
      const gg = n.opType === 'Mean' ? b.op('Div', [g, e.scalar(n.input.length)]) : g;
      return n.input.filter((i) => isVar(lin, i)).map((i) => [i, unbroadcast(ctx, gg, i, y)]);
    }
    case 'Sub': {
      const r: [string, string][] = [];
      if (isVar(lin, x)) r.push([x, unbroadcast(ctx, g, x, y)]);
      if (p1 && isVar(lin, p1)) r.push([p1, unbroadcast(ctx, b.op('Neg', [g]), p1, y)]);
      return r;
    }
    case 'Mul': {
      const [a, c] = isVar(lin, x) ? [x, p1!] : [p1!, x];
      freeze(c);
      return [[a, unbroadcast(ctx, b.op('Mul', [g, c]), a, y)]];
    }
    case 'Div':
      freeze(p1!);
      return [[x, unbroadcast(ctx, b.op('Div', [g, p1!]), x, y)]];
    case 'MatMul': {
      const swapLast = (t: string) => {
        const r = shape(t).length;
        if (r < 2) throw unsupported(n, 'a 1-D MatMul operand');
        const perm = [...Array(r).keys()];
        [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
        return b.op('Transpose', [t], { perm: attr.ints(perm) });
      };
      if (isVar(lin, x)) {
        freeze(p1!);
        return [[x, unbroadcast(ctx, b.op('MatMul', [g, swapLast(p1!)]), x, y)]];
      }
      freeze(x);
      return [[p1!, unbroadcast(ctx, b.op('MatMul', [swapLast(x), g]), p1!, y)]];
    }
    case 'Gemm': {
      const alpha = attrFloat(n, 'alpha', 1);
      const transA = attrInt(n, 'transA', 0);
      const transB = attrInt(n, 'transB', 0);
      freeze(p1!);
      // y = α·A'·B'  ⇒  dA' = α·g·B'ᵀ, where B'ᵀ = B when transB, else Bᵀ.
      const bt = transB ? p1! : b.op('Transpose', [p1!], { perm: attr.ints([1, 0]) });
      let ga = b.op('Gemm', [g, bt], { alpha: attr.float(alpha) });
      if (transA) ga = b.op('Transpose', [ga], { perm: attr.ints([1, 0]) });
      return [[x, ga]];
    }
    case 'Conv':
      return [[x, convTranspose(ctx, n, g)]];
    case 'ConvTranspose':
      return [[x, convOfConvTranspose(ctx, n, g)]];
    case 'MaxPool': {
      if (attrInt(n, 'storage_order', 0) !== 0) throw unsupported(n, 'column-major indices (storage_order=1)');
      const idx = ctx.extraForward.get(n)![0]!;
      frozen.push(`${idx} (selection)`);
      return [[x, scatterBack(ctx, g, idx, x, y)]];
    }
    case 'AveragePool':
      return [[x, averagePoolTranspose(ctx, n, g)]];
    case 'GlobalAveragePool': {
      const s = shape(x);
      const area = s.slice(2).reduce((a, d) => a * d, 1);
      return [[x, b.op('Expand', [b.op('Div', [g, e.scalar(area)]), e.batchShape(g, s.slice(1))])]];
    }
    case 'ReduceSum':
    case 'ReduceMean': {
      const s = shape(x);
      const axes = reduceAxes(ctx, n, s.length);
      if (axes.includes(0)) throw unsupported(n, 'it reduces over the batch axis');
      const keep = attrInt(n, 'keepdims', 1) === 1;
      let gg = keep ? g : e.unsqueeze(g, axes);
      if (n.opType === 'ReduceMean') gg = b.op('Div', [gg, e.scalar(axes.reduce((a, ax) => a * s[ax]!, 1))]);
      return [[x, b.op('Expand', [gg, e.batchShape(g, s.slice(1))])]];
    }
    case 'ReduceMax':
    case 'ReduceMin': {
      const s = shape(x);
      const axes = reduceAxes(ctx, n, s.length);
      if (axes.includes(0)) throw unsupported(n, 'it reduces over the batch axis');
      const keep = attrInt(n, 'keepdims', 1) === 1;
      const yk = keep ? y : e.unsqueeze(y, axes);
      const gk = keep ? g : e.unsqueeze(g, axes);
      // Frozen selection; ties share the cotangent equally, as PyTorch's amax/amin do.
      const hit = e.maskOf(b.op('Equal', [x, yk]));
      const share = b.op('Div', [hit, e.reduceSum(hit, axes, true)]);
      frozen.push(`${y} (selection)`);
      return [[x, b.op('Mul', [b.op('Expand', [gk, e.batchShape(g, s.slice(1))]), share])]];
    }
    case 'Relu': {
      frozen.push(`${y} (selection)`);
      return [[x, b.op('Mul', [g, e.maskOf(b.op('Greater', [x, e.scalar(0)]))])]];
    }
    case 'LeakyRelu': {
      frozen.push(`${y} (selection)`);
      const slope = b.op('Where', [b.op('Greater', [x, e.scalar(0)]), e.scalar(1), e.scalar(attrFloat(n, 'alpha', 0.01))]);
      return [[x, b.op('Mul', [g, slope])]];
    }
    case 'Max':
    case 'Min': {
      const [a, c] = [x, p1!];
      frozen.push(`${y} (selection)`);
      const pickA = e.maskOf(b.op(n.opType === 'Max' ? 'GreaterOrEqual' : 'LessOrEqual', [a, c]));
      const pickC = b.op('Sub', [e.scalar(1), pickA]);
      const r: [string, string][] = [];
      if (isVar(lin, a)) r.push([a, unbroadcast(ctx, b.op('Mul', [g, pickA]), a, y)]);
      if (isVar(lin, c)) r.push([c, unbroadcast(ctx, b.op('Mul', [g, pickC]), c, y)]);
      return r;
    }
    case 'Where': {
      const zero = e.scalar(0);
      frozen.push(`${x} (selection)`);
      const r: [string, string][] = [];
      if (isVar(lin, p1!)) r.push([p1!, unbroadcast(ctx, b.op('Where', [x, g, zero]), p1!, y)]);
      if (isVar(lin, p2!)) r.push([p2!, unbroadcast(ctx, b.op('Where', [x, zero, g]), p2!, y)]);
      return r;
    }
    case 'Reshape':
    case 'Flatten':
    case 'Squeeze':
    case 'Unsqueeze':
      return [[x, e.reshapeLike(g, g, restOf(x))]];
    case 'Expand':
      return [[x, unbroadcast(ctx, g, x, y)]];
    case 'Transpose': {
      const perm = attrInts(n, 'perm') ?? [...Array(shape(x).length).keys()].reverse();
      if (perm[0] !== 0) throw unsupported(n, 'it moves the batch axis');
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return [[x, b.op('Transpose', [g], { perm: attr.ints(inverse) })]];
    }
    case 'Concat': {
      const rank = shape(y).length;
      const axis = normAxis(attrInt(n, 'axis', 0), rank);
      if (axis === 0) throw unsupported(n, 'it concatenates along the batch axis');
      let offset = 0;
      const r: [string, string][] = [];
      for (const t of n.input) {
        const size = shape(t)[axis]!;
        if (isVar(lin, t)) r.push([t, e.slice(g, [offset], [offset + size], [axis])]);
        offset += size;
      }
      return r;
    }
    case 'Split': {
      const rank = shape(x).length;
      const axis = normAxis(attrInt(n, 'axis', 0), rank);
      if (axis === 0) throw unsupported(n, 'it splits along the batch axis');
      const parts = n.output.map((o, i) => outs[i] ?? e.zerosLike(g, restOf(o)));
      return [[x, b.op('Concat', parts, { axis: attr.int(axis) })]];
    }
    case 'Slice':
      return [[x, sliceTranspose(ctx, n, g)]];
    case 'Pad':
      return [[x, padTranspose(ctx, n, g)]];
    case 'Gather':
      return [[x, gatherTranspose(ctx, n, g)]];
    case 'BatchNormalization': {
      const scale = ctx.constant(p1!)!;
      const variance = ctx.constant(n.input[4]!)!;
      const eps = attrFloat(n, 'epsilon', 1e-5);
      const c = scale.data.length;
      const factor = Array.from(scale.data, (s, i) => s / Math.sqrt(variance.data[i]! + eps));
      const dims = [
        1,
        c,
        ...shape(x)
          .slice(2)
          .map(() => 1),
      ];
      return [[x, b.op('Mul', [g, e.f32(factor, dims, 'bn_factor')])]];
    }
    case 'LayerNormalization': {
      // Explanation mode: y = (x − mean)·γ·s with s = 1/√(var+ε) frozen; centring is linear and self-adjoint.
      const rank = shape(x).length;
      const axis = normAxis(attrInt(n, 'axis', -1), rank);
      const axes = [...Array(rank - axis).keys()].map((k) => k + axis);
      const invStd = ctx.extraForward.get(n)![0]!;
      frozen.push(`${invStd} (variance)`);
      const h = b.op('Mul', [b.op('Mul', [g, p1!]), invStd]);
      return [[x, b.op('Sub', [h, e.reduceMean(h, axes, true)])]];
    }
    case 'InstanceNormalization':
      return [[x, instanceNormTranspose(ctx, n, g, frozen)]];
    default:
      throw unsupported(n, `the transposer does not support ${n.opType}`);
  }
}

function reduceAxes(ctx: TransposeContext, n: OnnxNode, rank: number): number[] {
  const fromAttr = attrInts(n, 'axes');
  const fromInput = n.input[1] ? ctx.constant(n.input[1])?.data : undefined;
  if (n.input[1] && !fromInput) throw unsupported(n, 'its axes are not constant');
  const axes = fromAttr ?? (fromInput ? Array.from(fromInput) : undefined);
  if (!axes || axes.length === 0) {
    if (attrInt(n, 'noop_with_empty_axes', 0)) return [];
    return [...Array(rank).keys()];
  }
  return axes.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
}

interface ConvGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  group: number;
}

function convGeometry(ctx: TransposeContext, n: OnnxNode, inSpatial: number[], outSpatial: number[], kernel: number[]): ConvGeometry {
  const d = kernel.length;
  const strides = attrInts(n, 'strides') ?? Array(d).fill(1);
  const dilations = attrInts(n, 'dilations') ?? Array(d).fill(1);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  let padsBegin: number[];
  let padsEnd: number[];
  if (autoPad === 'NOTSET') {
    const pads = attrInts(n, 'pads') ?? Array(2 * d).fill(0);
    padsBegin = pads.slice(0, d);
    padsEnd = pads.slice(d);
  } else if (autoPad === 'VALID') {
    padsBegin = Array(d).fill(0);
    padsEnd = Array(d).fill(0);
  } else {
    // SAME_UPPER / SAME_LOWER: total padding that makes out = ceil(in / stride).
    const total = inSpatial.map((len, i) => Math.max(0, (outSpatial[i]! - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - len));
    padsBegin = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    padsEnd = total.map((t, i) => t - padsBegin[i]!);
  }
  void ctx;
  return { kernel, strides, dilations, padsBegin, padsEnd, group: attrInt(n, 'group', 1) };
}

/** Conv's transpose is ConvTranspose with the same weight; output_padding restores the input's exact size. */
function convTranspose(ctx: TransposeContext, n: OnnxNode, g: string): string {
  const [x, w] = n.input as [string, string];
  const sx = ctx.shape(x);
  const sy = ctx.shape(n.output[0]!);
  const kernel = ctx.shape(w).slice(2);
  const geo = convGeometry(ctx, n, sx.slice(2), sy.slice(2), kernel);
  const outputPadding = sx
    .slice(2)
    .map(
      (len, i) =>
        len - ((sy[2 + i]! - 1) * geo.strides[i]! - geo.padsBegin[i]! - geo.padsEnd[i]! + (kernel[i]! - 1) * geo.dilations[i]! + 1),
    );
  if (outputPadding.some((p, i) => p < 0 || p >= Math.max(geo.strides[i]!, geo.dilations[i]!))) {
    throw unsupported(n, `its geometry cannot be inverted (output padding ${outputPadding.join(',')})`);
  }
  // A stride-1 convolution's transpose is itself a convolution, with the kernel flipped and its channel axes
  // swapped, and padding (k − 1)·d − p; onnxruntime's Conv kernels are much faster than its ConvTranspose.
  const weights = ctx.constant(w);
  const flippedPads = [
    ...geo.padsBegin.map((p, i) => (kernel[i]! - 1) * geo.dilations[i]! - p),
    ...geo.padsEnd.map((p, i) => (kernel[i]! - 1) * geo.dilations[i]! - p),
  ];
  if (weights && geo.strides.every((st) => st === 1) && flippedPads.every((p) => p >= 0) && outputPadding.every((p) => p === 0)) {
    return ctx.e.b.op(
      'Conv',
      [g, ctx.e.f32(Array.from(flipSwap(weights.data, ctx.shape(w), geo.group)), flipSwapShape(ctx.shape(w), geo.group), 'conv_t_weight')],
      {
        dilations: attr.ints(geo.dilations),
        group: attr.int(geo.group),
        pads: attr.ints(flippedPads),
        kernel_shape: attr.ints(kernel),
      },
    );
  }
  // A strided one: stride-1 convolutions per output phase, interleaved (ConvTranspose's col2im is far slower), unless
  // the kernel is no wider than the stride (then ConvTranspose only scatters; polyphaseConvTranspose says so).
  const polyphase =
    weights &&
    polyphaseConvTranspose(ctx.e, g, {
      weights: weights.data,
      weightShape: ctx.shape(w),
      group: geo.group,
      strides: geo.strides,
      dilations: geo.dilations,
      padsBegin: geo.padsBegin,
      inSpatial: sx.slice(2),
      outSpatial: sy.slice(2),
    });
  if (polyphase) return polyphase;
  return ctx.e.b.op('ConvTranspose', [g, w], {
    strides: attr.ints(geo.strides),
    dilations: attr.ints(geo.dilations),
    group: attr.int(geo.group),
    pads: attr.ints([...geo.padsBegin, ...geo.padsEnd]),
    output_padding: attr.ints(outputPadding),
    kernel_shape: attr.ints(kernel),
  });
}

/** Conv weight [M, C/G, k…] → the weight of its transpose as a Conv: [C, M/G, k…], spatially flipped. */
function flipSwapShape(shape: number[], group: number): number[] {
  const [m, cg, ...k] = shape as [number, number, ...number[]];
  return [cg * group, m / group, ...k];
}

function flipSwap(w: ArrayLike<number>, shape: number[], group: number): Float32Array {
  const [m, cg, ...k] = shape as [number, number, ...number[]];
  const mg = m / group;
  const area = k.reduce((a, d) => a * d, 1);
  const out = new Float32Array(w.length);
  for (let gr = 0; gr < group; gr++) {
    for (let o = 0; o < mg; o++) {
      for (let c = 0; c < cg; c++) {
        const src = ((gr * mg + o) * cg + c) * area;
        const dst = ((gr * cg + c) * mg + o) * area;
        for (let a = 0; a < area; a++) out[dst + a] = w[src + area - 1 - a]!;
      }
    }
  }
  return out;
}

function convOfConvTranspose(ctx: TransposeContext, n: OnnxNode, g: string): string {
  const [x, w] = n.input as [string, string];
  if (attrInts(n, 'output_shape')) throw unsupported(n, 'an explicit output_shape');
  if (attrString(n, 'auto_pad', 'NOTSET') !== 'NOTSET') throw unsupported(n, 'auto_pad');
  const kernel = ctx.shape(w).slice(2);
  const d = kernel.length;
  void x;
  return ctx.e.b.op('Conv', [g, w], {
    strides: attr.ints(attrInts(n, 'strides') ?? Array(d).fill(1)),
    dilations: attr.ints(attrInts(n, 'dilations') ?? Array(d).fill(1)),
    group: attr.int(attrInt(n, 'group', 1)),
    pads: attr.ints(attrInts(n, 'pads') ?? Array(2 * d).fill(0)),
    kernel_shape: attr.ints(kernel),
  });
}

/** MaxPool's transpose: scatter-add each cotangent entry to the input position its window selected. */
function scatterBack(ctx: TransposeContext, g: string, indices: string, x: string, y: string): string {
  const { e } = ctx;
  const b = e.b;
  const inner = ctx
    .shape(x)
    .slice(1)
    .reduce((a, d) => a * d, 1);
  const outer = ctx
    .shape(y)
    .slice(1)
    .reduce((a, d) => a * d, 1);
  const flatG = e.reshapeLike(g, g, [outer]);
  // Indices count over the whole forward batch; within one sample they are taken modulo C·H·W.
  const local = b.op('Mod', [b.op('Reshape', [indices, e.i64([-1, outer])]), b.constant('chw', 'int64', [], [inner])]);
  const idx = b.op('Expand', [local, b.op('Shape', [flatG])]);
  const scattered = b.op('ScatterElements', [e.zerosLike(g, [inner]), idx, flatG], { axis: attr.int(1), reduction: attr.string('add') });
  return e.reshapeLike(scattered, g, ctx.shape(x).slice(1));
}

function averagePoolTranspose(ctx: TransposeContext, n: OnnxNode, g: string): string {
  const { e } = ctx;
  const [x] = n.input as [string];
  const sx = ctx.shape(x);
  const sy = ctx.shape(n.output[0]!);
  const kernel = attrInts(n, 'kernel_shape')!;
  const geo = convGeometry(ctx, n, sx.slice(2), sy.slice(2), kernel);
  if (kernel.length !== 2) throw unsupported(n, 'only 2-D average pooling is supported');
  const includePad = attrInt(n, 'count_include_pad', 0) === 1;
  // Divisor of each output window: the positions it covers (inside the image, or inside image + padding).
  const [oh, ow] = [sy[2]!, sy[3]!];
  const counts: number[] = [];
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const span = (o: number, ax: number, len: number) => {
        const start = o * geo.strides[ax]! - geo.padsBegin[ax]!;
        const end = start + (kernel[ax]! - 1) * geo.dilations[ax]! + 1;
        const lo = includePad ? -geo.padsBegin[ax]! : 0;
        const hi = includePad ? len + geo.padsEnd[ax]! : len;
        let c = 0;
        for (let p = start; p < end; p += geo.dilations[ax]!) if (p >= lo && p < hi) c++;
        return c;
      };
      counts.push(span(i, 0, sx[2]!) * span(j, 1, sx[3]!));
    }
  }
  const scaled = e.b.op('Div', [g, e.f32(counts, [1, 1, oh, ow], 'pool_counts')]);
  const c = sx[1]!;
  const ones = e.f32(new Array(c * kernel[0]! * kernel[1]!).fill(1), [c, 1, kernel[0]!, kernel[1]!], 'pool_ones');
  const outputPadding = sx
    .slice(2)
    .map(
      (len, i) =>
        len - ((sy[2 + i]! - 1) * geo.strides[i]! - geo.padsBegin[i]! - geo.padsEnd[i]! + (kernel[i]! - 1) * geo.dilations[i]! + 1),
    );
  return e.b.op('ConvTranspose', [scaled, ones], {
    strides: attr.ints(geo.strides),
    dilations: attr.ints(geo.dilations),
    group: attr.int(c),
    pads: attr.ints([...geo.padsBegin, ...geo.padsEnd]),
    output_padding: attr.ints(outputPadding),
    kernel_shape: attr.ints(kernel),
  });
}

function constInts(ctx: TransposeContext, n: OnnxNode, t: string | undefined, what: string): number[] | undefined {
  if (!t) return undefined;
  const v = ctx.constant(t);
  if (!v) throw unsupported(n, `its ${what} are not constant`);
  return Array.from(v.data);
}

function sliceTranspose(ctx: TransposeContext, n: OnnxNode, g: string): string {
  const { e } = ctx;
  const x = n.input[0]!;
  const sx = ctx.shape(x);
  const rank = sx.length;
  const starts = constInts(ctx, n, n.input[1], 'starts') ?? attrInts(n, 'starts')!;
  const ends = constInts(ctx, n, n.input[2], 'ends') ?? attrInts(n, 'ends')!;
  const axes = (constInts(ctx, n, n.input[3], 'axes') ?? attrInts(n, 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  const steps = constInts(ctx, n, n.input[4], 'steps') ?? starts.map(() => 1);
  const pads = new Array(2 * rank).fill(0);
  axes.forEach((ax, i) => {
    if (steps[i] !== 1) throw unsupported(n, 'slicing with a step other than 1');
    const len = sx[ax]!;
    const clamp = (v: number) => Math.min(len, Math.max(0, v < 0 ? v + len : v));
    const s = clamp(starts[i]!);
    const t = Math.max(s, clamp(ends[i]!));
    if (ax === 0 && (s !== 0 || t !== len)) throw unsupported(n, 'slicing the batch axis');
    pads[ax] = s;
    pads[rank + ax] = len - t;
  });
  return e.b.op('Pad', [g, e.i64(pads, 'pads')], { mode: attr.string('constant') });
}

function padTranspose(ctx: TransposeContext, n: OnnxNode, g: string): string {
  const { e } = ctx;
  if (attrString(n, 'mode', 'constant') !== 'constant') throw unsupported(n, `'${attrString(n, 'mode', '')}' padding`);
  const x = n.input[0]!;
  const sx = ctx.shape(x);
  const rank = sx.length;
  let pads = constInts(ctx, n, n.input[1], 'pads') ?? attrInts(n, 'pads')!;
  if (n.input[3]) {
    const axes = constInts(ctx, n, n.input[3], 'axes')!.map((a) => normAxis(a, rank));
    const full = new Array(2 * rank).fill(0);
    axes.forEach((ax, i) => {
      full[ax] = pads[i]!;
      full[rank + ax] = pads[axes.length + i]!;
    });
    pads = full;
  }
  if (pads.some((p) => p < 0)) throw unsupported(n, 'negative padding');
  if (pads[0] !== 0 || pads[rank] !== 0) throw unsupported(n, 'padding the batch axis');
  const axes = [...Array(rank - 1).keys()].map((k) => k + 1);
  return e.slice(
    g,
    axes.map((a) => pads[a]!),
    axes.map((a) => pads[a]! + sx[a]!),
    axes,
  );
}

function gatherTranspose(ctx: TransposeContext, n: OnnxNode, g: string): string {
  const { e } = ctx;
  const b = e.b;
  const x = n.input[0]!;
  const sx = ctx.shape(x);
  const axis = normAxis(attrInt(n, 'axis', 0), sx.length);
  if (axis === 0) throw unsupported(n, 'gathering along the batch axis');
  const idx = ctx.constant(n.input[1]!);
  if (!idx) throw unsupported(n, 'its indices are not constant');
  if (idx.dims.length > 1) throw unsupported(n, 'indices of rank above 1');
  const size = sx[axis]!;
  const picks = Array.from(idx.data, (i) => (i < 0 ? i + size : i));
  // One-hot matrix P (picks × size): the gather is g ↦ P·x along `axis`, so its transpose is Pᵀ·g.
  const onehot = new Array(picks.length * size).fill(0);
  picks.forEach((p, r) => {
    onehot[r * size + p] = 1;
  });
  const rank = sx.length;
  let gg = idx.dims.length === 0 ? e.unsqueeze(g, [axis]) : g;
  const toLast = [...Array(rank).keys()].filter((a) => a !== axis).concat([axis]);
  const fromLast = toLast.map((_, i) => toLast.indexOf(i));
  gg = b.op('Transpose', [gg], { perm: attr.ints(toLast) });
  gg = b.op('MatMul', [gg, e.f32(onehot, [picks.length, size], 'gather_onehot')]);
  return b.op('Transpose', [gg], { perm: attr.ints(fromLast) });
}

/**
 * InstanceNormalization (how torch exports F.group_norm and instance norms), in B-cos-v2's explanation mode: its
 * detachable group norm detaches the variance only, so y = (x − mean)·γ·s with s = 1/√(var+ε) frozen and the
 * centring kept linear (self-adjoint). Statistics run over the spatial axes of each sample and channel.
 */
function instanceNormTranspose(ctx: TransposeContext, n: OnnxNode, g: string, frozen: string[]): string {
  const { e } = ctx;
  const b = e.b;
  const x = n.input[0]!;
  const sx = ctx.shape(x);
  const axes = [...Array(sx.length - 2).keys()].map((k) => k + 2);
  const scale = ctx.constant(n.input[1]!);
  if (!scale) throw unsupported(n, 'its scale is not constant');
  const gamma = e.f32(Array.from(scale.data), [1, sx[1]!, ...axes.map(() => 1)], 'in_scale');
  const centred = b.op('Sub', [x, e.reduceMean(x, axes, true)]);
  const variance = e.reduceMean(b.op('Mul', [centred, centred]), axes, true);
  const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, e.scalar(attrFloat(n, 'epsilon', 1e-5))])])]);
  frozen.push(`${n.output[0]} (variance)`);
  const h = b.op('Mul', [b.op('Mul', [g, gamma]), invStd]);
  return b.op('Sub', [h, e.reduceMean(h, axes, true)]);
}
