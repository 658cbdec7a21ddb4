// Builds one ONNX model that runs the frozen forward pass and, in the same graph, the transposed (vector–Jacobian)
// pass of its linear path: inputs are the model's inputs (or the features at a layer, for a head) plus a cotangent
// at the target; outputs are the target, requested forward tensors, the gradients, and the bias term.
import { FactError } from '../errors';
import { GraphBuilder, attr, valueInfo } from '../onnx/graphBuilder';
import type { ConstantValue } from '../onnx/constants';
import type { GraphIndex } from '../onnx/graphIndex';
import { opsetVersion } from '../onnx/modelFile';
import type { OnnxModel, OnnxNode } from '../onnx/types';
import { Emitter } from './emit';
import type { Linearization } from './linearize';
import { linearPath, transpose } from './transpose';

export const COTANGENT = 'fact_cotangent';
/** With `cotangentImage`: the image (row of the forward batch) each cotangent row is for, int64 [M]. */
export const COTANGENT_IMAGE = 'fact_cotangent_image';
export const BIAS = 'fact_bias';
export const gradientName = (t: string) => `fact_grad:${t}`;

export interface ExplanationGraphSpec {
  /** The tensor explained with respect to (the encoded input, or a layer). */
  from: string;
  /** The tensor the cotangent is given at (the logits, or a layer). */
  to: string;
  /** Feed `from` as an input (a head run on supplied features) instead of computing it. */
  fromIsInput: boolean;
  /** Tensors to return the gradient at; `from` is always included. */
  gradientsAt: string[];
  /** Forward tensors to return as well. */
  forwardOutputs: string[];
  /** Explain each image's predicted class: the cotangent is the one-hot of argmax(`to`), made inside the graph,
   *  so one run both predicts and explains. Otherwise the cotangent is an input. */
  predictedClass?: boolean;
  /** Each cotangent row names its image (input COTANGENT_IMAGE): the transposed pass gathers that image's frozen
   *  factors, so one forward pass per image serves any number of its cotangents (concept traces of many images). */
  cotangentImage?: boolean;
}

export interface ExplanationGraph {
  model: OnnxModel;
  spec: ExplanationGraphSpec;
  /** Dynamic factors and selections frozen along the path. */
  frozen: string[];
  /** Nodes on the linear path. */
  pathLength: number;
  /** Nodes where constants join the path (their contribution is the BIAS output). */
  biasNodes: string[];
}

export interface GraphContext {
  model: OnnxModel;
  index: GraphIndex;
  lin: Linearization;
  shape: (t: string) => number[];
  constant: (t: string) => ConstantValue | undefined;
}

export function buildExplanationGraph(gc: GraphContext, spec: ExplanationGraphSpec): ExplanationGraph {
  const source = gc.model.graph!;
  const declared = opsetVersion(gc.model);
  if (declared < 13) {
    throw new FactError('unsupported-model', `The model uses ONNX opset ${declared}; export it with opset_version ≥ 13 (17 recommended).`);
  }
  const opset = Math.max(declared, 17);
  const path = linearPath(gc.index.order, gc.lin, spec.from, spec.to);
  const onPath = new Set(path);

  const b = new GraphBuilder(`${source.name}_explain`, 'fact/');
  const e = new Emitter(b, opset);
  const extraForward = new Map<OnnxNode, string[]>();

  // Forward part: every node needed for the targets, stopping at `from` when it is fed. Nodes on the path that
  // hold a frozen selection or statistic get the extra outputs their transpose reads.
  const targets = [spec.to, ...spec.forwardOutputs, ...path.flatMap((n) => n.input)];
  const needed = neededNodes(gc.index, targets, spec.fromIsInput ? spec.from : undefined);
  for (const n of gc.index.order) {
    if (!needed.has(n)) continue;
    let node = n;
    if (onPath.has(n) && n.opType === 'MaxPool') {
      const idx = n.output[1] || b.fresh('maxpool_indices');
      node = { ...n, output: [n.output[0]!, idx] };
      extraForward.set(n, [idx]);
    } else if (onPath.has(n) && n.opType === 'LayerNormalization') {
      const mean = n.output[1] || b.fresh('ln_mean');
      const invStd = n.output[2] || b.fresh('ln_inv_std');
      node = { ...n, output: [n.output[0]!, mean, invStd] };
      extraForward.set(n, [invStd]);
    }
    b.nodes.push(node);
  }
  if (spec.fromIsInput) {
    const usesRawInput = [...needed].some((n) => n.input.some((i) => gc.index.realInputs.includes(i)));
    if (usesRawInput) {
      throw new FactError(
        'unsupported-model',
        `The part of the model after '${spec.from}' also reads the image input directly, so it cannot run on supplied features.`,
      );
    }
  }

  // Inputs: the model's own, or the features; then the cotangent, batch M.
  if (spec.fromIsInput) b.inputs.push(valueInfo(spec.from, 'float32', ['N', ...gc.shape(spec.from).slice(1)]));
  else for (const v of source.input) if (gc.index.realInputs.includes(v.name)) b.inputs.push(v);
  b.initializers.push(...source.initializer);
  if (spec.predictedClass) {
    const k = gc.shape(spec.to);
    if (k.length !== 2)
      throw new FactError('internal', `Predicted-class explanations need 2-D logits; '${spec.to}' has shape [${k.join(', ')}].`);
    const argmax = b.op('ArgMax', [spec.to], { axis: { int: 1 }, keepdims: { int: 0 } });
    b.op('OneHot', [argmax, b.constant('depth', 'int64', [], [k[1]!]), e.f32([0, 1], [2], 'onehot_values')], {}, COTANGENT);
  } else {
    b.input(COTANGENT, 'float32', ['M', ...gc.shape(spec.to).slice(1)]);
  }
  if (spec.cotangentImage) {
    if (spec.predictedClass) throw new FactError('internal', 'A predicted-class cotangent is made per image; it names no image.');
    b.input(COTANGENT_IMAGE, 'int64', ['M']);
  }
  const forwardEnd = b.nodes.length;

  const wanted = [...new Set([spec.from, ...spec.gradientsAt])];
  const biasNodes = path.filter((n) => gc.lin.biasNodes.includes(n));
  const { gradients, frozen } = transpose(
    { e, lin: gc.lin, shape: gc.shape, constant: gc.constant, extraForward },
    path,
    spec.to,
    COTANGENT,
    [...wanted, ...biasNodes.map((n) => n.output[0]!)],
  );

  for (const t of [spec.to, ...spec.forwardOutputs]) if (!b.outputs.some((o) => o.name === t)) b.output(t);
  for (const t of wanted) {
    const g = gradients.get(t);
    if (!g) throw new FactError('bad-layer', `'${t}' is not on the linear path from '${spec.from}' to '${spec.to}'.`, { tensor: t });
    b.op('Identity', [g], {}, gradientName(t));
    b.output(gradientName(t));
  }
  emitBias(e, gc, biasNodes, gradients);
  b.output(BIAS);
  if (spec.cotangentImage) gatherPerCotangent(b, gc, forwardEnd, new Set([...extraForward.values()].flat()));

  const model: OnnxModel = {
    ...gc.model,
    opsetImport: gc.model.opsetImport.map((o) => (o.domain === '' || o.domain === 'ai.onnx' ? { ...o, version: opset } : o)),
    graph: { ...b.model(opset).graph!, valueInfo: [] },
  };
  return { model, spec, frozen, pathLength: path.length, biasNodes: biasNodes.map((n) => n.name || n.output[0]!) };
}

/**
 * Makes the transposed pass (the nodes from `forwardEnd` on) read, instead of each per-image forward tensor, its
 * rows for the cotangents' images: one Gather along the batch per tensor, placed between the two passes. Per-image
 * tensors are those that depend on the input (linear, affine or dynamic; their batch is axis 0) and the extra
 * forward outputs the transposition asked for (MaxPool indices, LayerNorm statistics).
 */
function gatherPerCotangent(b: GraphBuilder, gc: GraphContext, forwardEnd: number, extraForward: Set<string>): void {
  const produced = new Set(b.nodes.slice(0, forwardEnd).flatMap((n) => n.output));
  for (const v of b.inputs) if (v.name !== COTANGENT && v.name !== COTANGENT_IMAGE) produced.add(v.name);
  const perImage = (t: string) => {
    if (!produced.has(t)) return false;
    const k = gc.lin.kind.get(t);
    return k === 'linear' || k === 'affine' || k === 'dynamic' || extraForward.has(t);
  };
  const gathered = new Map<string, string>();
  const transposed = b.nodes.slice(forwardEnd);
  for (const n of transposed) {
    n.input = n.input.map((t) => {
      if (!t || !perImage(t)) return t;
      let g = gathered.get(t);
      if (!g) gathered.set(t, (g = b.fresh('per_cotangent')));
      return g;
    });
  }
  b.nodes.length = forwardEnd;
  for (const [t, g] of gathered) b.op('Gather', [t, COTANGENT_IMAGE], { axis: attr.int(0) }, g);
  b.nodes.push(...transposed);
}

/** Nodes needed to compute `targets`, walking back from them and stopping at `stopAt`. */
function neededNodes(index: GraphIndex, targets: string[], stopAt: string | undefined): Set<OnnxNode> {
  const needed = new Set<OnnxNode>();
  const stack = targets.filter((t) => t && t !== stopAt);
  const seen = new Set<string>(stack);
  while (stack.length) {
    const t = stack.pop()!;
    const p = index.producer.get(t);
    if (!p || needed.has(p)) continue;
    needed.add(p);
    for (const i of p.input) {
      if (i && i !== stopAt && !seen.has(i)) {
        seen.add(i);
        stack.push(i);
      }
    }
  }
  return needed;
}

/**
 * The bias term: what constants joining the path contribute to the target, in explanation mode. For a constant c
 * added at tensor t it is ⟨∂target/∂t, c⟩; summed over all such constants it completes Σ x·W + bias = target.
 */
function emitBias(e: Emitter, gc: GraphContext, biasNodes: OnnxNode[], gradients: Map<string, string>): void {
  const b = e.b;
  const terms: string[] = [];
  const perSample = (t: string, rank: number) =>
    rank > 1
      ? e.reduceSum(
          t,
          [...Array(rank - 1).keys()].map((k) => k + 1),
          false,
        )
      : t;
  for (const n of biasNodes) {
    const out = n.output[0]!;
    const g = gradients.get(out);
    if (!g) continue;
    const rank = gc.shape(out).length;
    const isConst = (t: string) => gc.lin.kind.get(t) === undefined || gc.lin.kind.get(t) === 'const';
    if (n.opType === 'Concat') {
      const axis = ((a) => (a < 0 ? a + rank : a))(Number(n.attribute.find((a) => a.name === 'axis')?.i ?? 0));
      let offset = 0;
      for (const t of n.input) {
        const size = gc.shape(t)[axis]!;
        if (isConst(t)) terms.push(perSample(b.op('Mul', [e.slice(g, [offset], [offset + size], [axis]), t]), rank));
        offset += size;
      }
      continue;
    }
    n.input.forEach((t, i) => {
      if (!t || !isConst(t)) return;
      let c = t;
      if (n.opType === 'Sub' && i === 1) c = b.op('Neg', [t]);
      if (n.opType === 'Mean') c = b.op('Div', [t, e.scalar(n.input.length)]);
      terms.push(perSample(b.op('Mul', [g, c]), rank));
    });
  }
  if (terms.length === 0) {
    // No constant on the path: the bias is zero, one per cotangent row.
    b.op('Identity', [e.zerosLike(COTANGENT, [])], {}, BIAS);
    return;
  }
  b.op('Identity', [e.sum(terms)], {}, BIAS);
}
