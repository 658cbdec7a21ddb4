// Builds a one-op (or few-op) graph, then compares the engine's transposed graph with the naive dense Jacobian.
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../../src/core/onnx/graphBuilder';
import { constantLookup } from '../../../src/core/onnx/constants';
import { indexGraph } from '../../../src/core/onnx/graphIndex';
import { encodeModel } from '../../../src/core/onnx/modelFile';
import { encodeWithExtraOutputs } from '../../../src/core/onnx/surgery';
import type { OnnxModel } from '../../../src/core/onnx/types';
import { COTANGENT, buildExplanationGraph, gradientName } from '../../../src/core/engine/explanationGraph';
import { linearize } from '../../../src/core/engine/linearize';
import { denseJacobian, product, runModel, seededRandom } from '../../support/denseJacobian';

export interface OpCase {
  inDims: number[];
  build: (g: GraphBuilder, x: string, rand: () => number) => string;
  /** Piecewise-linear ops: take the Jacobian by finite differences at a random point instead of basis vectors. */
  piecewise?: boolean;
}

export function opModel(c: OpCase): OnnxModel {
  const g = new GraphBuilder('op');
  const x = g.input('x', 'float32', ['N', ...c.inDims.slice(1)]);
  const y = c.build(g, x, seededRandom(11));
  g.op('Identity', [y], {}, 'y');
  g.output('y');
  return g.model(17);
}

async function shapesOf(model: OnnxModel, dims: number[]): Promise<Map<string, number[]>> {
  const g = model.graph!;
  const all = g.node.flatMap((n) => n.output).filter((o) => o && o !== 'y');
  const s = await ort.InferenceSession.create(encodeWithExtraOutputs(model, all), { executionProviders: ['cpu'] });
  const r = await s.run({ x: new ort.Tensor('float32', new Float32Array(product(dims)).fill(0.3), dims) });
  await s.release();
  const shapes = new Map<string, number[]>(Object.entries(r).map(([k, v]) => [k, v.dims.map(Number)]));
  shapes.set('x', dims);
  for (const t of g.initializer) shapes.set(t.name, t.dims.map(Number));
  return shapes;
}

/** Returns [engine Jᵀ as rows×cols, reference J as rows×cols]. */
export async function transposeVsJacobian(c: OpCase): Promise<{ engine: Float32Array; reference: Float64Array }> {
  const model = opModel(c);
  const dims = [1, ...c.inDims.slice(1)];
  const cols = product(dims);
  const rand = seededRandom(5);
  const x0 = Float32Array.from({ length: cols }, () => rand() * 2 - 1);
  let reference: Float64Array;
  let rows: number;
  if (c.piecewise) {
    const t = 1e-3;
    const batch = new Float32Array((cols + 1) * cols);
    for (let j = 0; j <= cols; j++) {
      batch.set(x0, j * cols);
      if (j > 0) batch[j * cols + j - 1]! += t;
    }
    const y = (await runModel(model, { x: { data: batch, dims: [cols + 1, ...dims.slice(1)] } }, ['y'])).y!;
    rows = y.length / (cols + 1);
    reference = new Float64Array(rows * cols);
    for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) reference[i * cols + j] = (y[(j + 1) * rows + i]! - y[i]!) / t;
  } else {
    const d = await denseJacobian(model, 'x', dims, 'y');
    reference = d.J;
    rows = d.rows;
  }
  const shapes = await shapesOf(model, dims);
  const g = model.graph!;
  const constant = constantLookup(g);
  const index = indexGraph(g);
  const lin = linearize(index.order, 'x', constant);
  const graph = buildExplanationGraph(
    { model, index, lin, shape: (t) => shapes.get(t)!, constant },
    { from: 'x', to: 'y', fromIsInput: false, gradientsAt: [], forwardOutputs: [] },
  );
  const yDims = shapes.get('y')!;
  const cot = new Float32Array(rows * rows);
  for (let i = 0; i < rows; i++) cot[i * rows + i] = 1;
  const out = await runModel(graph.model, { x: { data: x0, dims }, [COTANGENT]: { data: cot, dims: [rows, ...yDims.slice(1)] } }, [
    gradientName('x'),
  ]);
  void encodeModel;
  return { engine: out[gradientName('x')]!, reference };
}
