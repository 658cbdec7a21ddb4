// Naive references for the engine's tests, in the style of zennit's: the dense Jacobian of a linear (or frozen)
// graph, built column by column from forward runs on basis vectors, and the "frozen" version of a graph where every
// input-dependent factor on the linear path is replaced by its value at one input (the definition of B-cos
// explanation mode).
import * as ort from 'onnxruntime-node';
import { constantLookup } from '../../src/core/onnx/constants';
import { indexGraph } from '../../src/core/onnx/graphIndex';
import { makeTensor } from '../../src/core/onnx/graphBuilder';
import { encodeModel } from '../../src/core/onnx/modelFile';
import { encodeWithExtraOutputs } from '../../src/core/onnx/surgery';
import type { OnnxModel } from '../../src/core/onnx/types';
import { linearize } from '../../src/core/engine/linearize';
import { linearPath } from '../../src/core/engine/transpose';

export const product = (d: number[]) => d.reduce((a, b) => a * b, 1);

export async function runModel(
  model: OnnxModel,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
  outputs: string[],
): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(encodeModel(model), { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
  const f: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.dims);
  const r = await s.run(f, outputs);
  await s.release();
  return Object.fromEntries(outputs.map((o) => [o, r[o]!.data as Float32Array]));
}

/**
 * J[i][j] = ∂out_i/∂in_j of a graph that is affine in `input`: (f(s·e_j) − f(0))/s for each basis vector e_j, all in one
 * batch. `fixed` feeds other inputs (batch 1 values are repeated).
 */
export async function denseJacobian(
  model: OnnxModel,
  input: string,
  inDims: number[],
  output: string,
  scale = 1,
): Promise<{ J: Float64Array; rows: number; cols: number }> {
  const cols = product(inDims.slice(1));
  const batch = new Float32Array((cols + 1) * cols);
  // Basis vectors may be scaled (the map is linear) so that f(s·e_j) − f(0) does not cancel against a large bias.
  for (let j = 0; j < cols; j++) batch[(j + 1) * cols + j] = scale;
  const y = (await runModel(model, { [input]: { data: batch, dims: [cols + 1, ...inDims.slice(1)] } }, [output]))[output]!;
  const rows = y.length / (cols + 1);
  const J = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) J[i * cols + j] = (y[(j + 1) * rows + i]! - y[i]!) / scale;
  return { J, rows, cols };
}

/** The graph with every dynamic factor read by its linear path replaced by a constant: its value at `x0`. */
export async function freezeAt(
  model: OnnxModel,
  input: string,
  from: string,
  to: string,
  x0: Float32Array,
  dims: number[],
): Promise<OnnxModel> {
  const g = model.graph!;
  const index = indexGraph(g);
  const lin = linearize(index.order, from, constantLookup(g));
  const path = linearPath(index.order, lin, from, to);
  const dynamic = [...new Set(path.flatMap((n) => n.input).filter((t) => t && lin.kind.get(t) === 'dynamic'))];
  const tapped = await ort.InferenceSession.create(encodeWithExtraOutputs(model, dynamic), { executionProviders: ['cpu'] });
  const r = await tapped.run({ [input]: new ort.Tensor('float32', x0, dims) });
  await tapped.release();
  const initializer = [...g.initializer];
  const rename = new Map<string, string>();
  for (const t of dynamic) {
    const name = `frozen:${t}`;
    rename.set(t, name);
    initializer.push(makeTensor(name, 'float32', r[t]!.dims.map(Number), Float32Array.from(r[t]!.data as Float32Array)));
  }
  const pathSet = new Set(path);
  const node = g.node.map((n) => (pathSet.has(n) ? { ...n, input: n.input.map((i) => rename.get(i) ?? i) } : n));
  return { ...model, graph: { ...g, node, initializer } };
}

export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / (scale || 1);
}

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
