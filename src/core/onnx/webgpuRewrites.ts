// Graph rewrites applied only to sessions on onnxruntime's WebGPU provider (1.30), each for a measured defect:
//  - Conv with more than 3 input channels that are a multiple of 3 but not of 4 (6, 9, 15, 18, …) and a kernel
//    larger than 1×1 computes wrong values on WebGPU (relative error ~1; 3, 12 or 24 channels are right). B-cos
//    models' first convolution has 6 ([r, g, b, 1−r, 1−g, 1−b]), so their logits were wrong. The input and the
//    weight are padded with zero channels to the next multiple of 4, which changes no value.
//  - Sum has no WebGPU kernel, so onnxruntime silently ran it on the CPU, copying image-sized gradients between the
//    devices; it becomes a chain of Adds.
//  - MaxPool with its Indices output (the explanation graph's frozen max selections) fails at its first WebGPU run
//    ("The Indices output is not supported yet"): those nodes are named for onnxruntime's forceCpuNodeNames, so
//    only they run on the CPU (one pass over a feature map) instead of the whole graph falling back.
// The rewritten graph computes the same function; the WebGPU tests compare it with the CPU's.
import { DataType } from './schema';
import { int, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './types';
import { makeTensor } from './graphBuilder';

export interface WebGpuRewrite {
  node: string;
  change: string;
}

/** True for the input-channel counts whose Conv is wrong on WebGPU (see above). */
export function webgpuConvChannelsAreWrong(channels: number): boolean {
  return channels > 3 && channels % 3 === 0 && channels % 4 !== 0;
}

/** Returns a rewritten copy of the model (the input is left untouched) and what was changed. */
export function rewriteForWebGpu(model: OnnxModel): { model: OnnxModel; rewrites: WebGpuRewrite[]; cpuNodes: string[] } {
  const g = model.graph!;
  const opset = int(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 17);
  const initializers = new Map(g.initializer.map((t) => [t.name, t]));
  const added: OnnxTensor[] = [];
  const nodes: OnnxNode[] = [];
  const rewrites: WebGpuRewrite[] = [];
  const cpuNodes: string[] = [];
  let counter = 0;
  const fresh = (hint: string) => `fact_webgpu/${hint}__${counter++}`;

  for (const n of g.node) {
    if (n.opType === 'Sum' && (!n.domain || n.domain === 'ai.onnx') && n.input.length > 2) {
      let acc = n.input[0]!;
      for (let i = 1; i < n.input.length; i++) {
        const out = i === n.input.length - 1 ? n.output[0]! : fresh('sum');
        nodes.push(plainNode('Add', [acc, n.input[i]!], [out], i === n.input.length - 1 ? n.name : fresh('sum_add')));
        acc = out;
      }
      rewrites.push({ node: n.name, change: `Sum of ${n.input.length} became ${n.input.length - 1} Adds` });
      continue;
    }
    if (n.opType === 'Sum' && (!n.domain || n.domain === 'ai.onnx') && n.input.length === 2) {
      nodes.push({ ...n, opType: 'Add' });
      rewrites.push({ node: n.name, change: 'Sum of 2 became an Add' });
      continue;
    }
    const padded =
      n.opType === 'Conv' && (!n.domain || n.domain === 'ai.onnx') ? padConvChannels(n, initializers, opset, fresh) : undefined;
    if (padded) {
      nodes.push(...padded.nodes);
      added.push(...padded.initializers);
      rewrites.push({ node: n.name, change: `input channels ${padded.from} padded with zeros to ${padded.to}` });
      continue;
    }
    if (n.opType === 'MaxPool' && n.output[1]) {
      const named = n.name ? n : { ...n, name: fresh('maxpool') };
      cpuNodes.push(named.name);
      rewrites.push({ node: named.name, change: 'MaxPool with Indices runs on the CPU' });
      nodes.push(named);
      continue;
    }
    nodes.push(n);
  }
  if (!rewrites.length) return { model, rewrites, cpuNodes };
  return { model: { ...model, graph: { ...g, node: nodes, initializer: [...g.initializer, ...added] } }, rewrites, cpuNodes };
}

function plainNode(opType: string, input: string[], output: string[], name: string, attribute: OnnxAttribute[] = []): OnnxNode {
  return { input, output, name, opType, domain: '', attribute };
}

function attribute(n: OnnxNode, name: string): OnnxAttribute | undefined {
  return n.attribute.find((a) => a.name === name);
}

/** A float32 initializer's values, whichever field holds them. */
function floatValues(t: OnnxTensor): Float32Array | undefined {
  if (t.dataType !== DataType.float32) return undefined;
  // A copy: protobufjs hands out Node Buffers, whose .slice() is a view into a shared pool.
  if (t.rawData?.length) return new Float32Array(new Uint8Array(t.rawData).buffer, 0, t.rawData.length / 4);
  if (t.floatData?.length) return Float32Array.from(t.floatData);
  return undefined;
}

function padConvChannels(
  n: OnnxNode,
  initializers: Map<string, OnnxTensor>,
  opset: number,
  fresh: (h: string) => string,
): { nodes: OnnxNode[]; initializers: OnnxTensor[]; from: number; to: number } | undefined {
  const group = int(attribute(n, 'group')?.i ?? 1) || 1;
  const w = initializers.get(n.input[1]!);
  if (group !== 1 || !w) return undefined;
  const dims = w.dims.map(int);
  const [m, c, ...kernel] = dims as [number, number, ...number[]];
  if (!webgpuConvChannelsAreWrong(c) || kernel.every((k) => k === 1)) return undefined;
  const values = floatValues(w);
  if (!values) return undefined;
  const to = Math.ceil(c / 4) * 4;
  const spatial = kernel.reduce((a, k) => a * k, 1);
  const wide = new Float32Array(m * to * spatial);
  for (let o = 0; o < m; o++) wide.set(values.subarray(o * c * spatial, (o + 1) * c * spatial), o * to * spatial);
  const weight = makeTensor(fresh('conv_weight'), 'float32', [m, to, ...kernel], wide);
  const rank = dims.length;
  const pads = new Array<number>(2 * rank).fill(0);
  pads[rank + 1] = to - c;
  const paddedInput = fresh('conv_input');
  const out: OnnxTensor[] = [weight];
  let pad: OnnxNode;
  if (opset >= 11) {
    const padsTensor = makeTensor(fresh('conv_pads'), 'int64', [2 * rank], pads);
    out.push(padsTensor);
    pad = plainNode('Pad', [n.input[0]!, padsTensor.name], [paddedInput], fresh('conv_pad'));
  } else {
    pad = plainNode('Pad', [n.input[0]!], [paddedInput], fresh('conv_pad'), [toAttr('pads', pads)]);
  }
  const conv: OnnxNode = { ...n, input: [paddedInput, weight.name, ...n.input.slice(2)] };
  return { nodes: [pad, conv], initializers: out, from: c, to };
}

function toAttr(name: string, ints: number[]): OnnxAttribute {
  return { name, type: 7, f: 0, i: 0, s: new Uint8Array(0), floats: [], ints, strings: [] } as OnnxAttribute;
}
