// The normalisation of opened models: raw torch exports (empty optional inputs, shape computations, fixed batch)
// open, explain exactly, and fail with a message naming the node where they cannot.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { checkModel } from '../../../src/core/engine/checkModel';
import { Explainer } from '../../../src/core/engine/explainer';
import { isFactError } from '../../../src/core/errors';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { GraphBuilder, attr } from '../../../src/core/onnx/graphBuilder';
import { encodeModel } from '../../../src/core/onnx/modelFile';
import { encodeWithExtraOutputs } from '../../../src/core/onnx/surgery';
import type { OnnxModel } from '../../../src/core/onnx/types';
import { denseJacobian, maxRelDiff, seededRandom } from '../../support/denseJacobian';
import { tempDir } from '../../support/paths';

const rand = seededRandom(3);
const r = (n: number) => Array.from({ length: n }, () => rand() * 2 - 1);
const W_CONV = r(4 * 2 * 3 * 3);
const W_HEAD = r(4 * 3);

function save(model: OnnxModel, name: string): string {
  const file = path.join(tempDir(), name);
  writeFileSync(file, encodeModel(model));
  return file;
}

function images(n: number, seed = 7): Float32Array {
  const rr = seededRandom(seed);
  const x = new Float32Array(n * 2 * 16);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < 16; i++) {
      const v = rr();
      x[b * 32 + i] = v;
      x[b * 32 + 16 + i] = 1 - v;
    }
  return x;
}

/** Conv → channels-last LayerNorm (bias-free, exported with or without the empty bias input) → mean → linear head. */
function layerNormModel(emptyBias: boolean, batch: number | 'N' = 'N'): OnnxModel {
  const g = new GraphBuilder('ln');
  g.input('image', 'float32', [batch, 2, 4, 4]);
  const c = g.op('Conv', ['image', g.constant('w', 'float32', [4, 2, 3, 3], W_CONV)], { pads: attr.ints([1, 1, 1, 1]) });
  const t = g.op('Transpose', [c], { perm: attr.ints([0, 2, 3, 1]) });
  const gamma = g.constant('gamma', 'float32', [4], [1, 0.5, 2, 1.5]);
  const ln = g.op(
    'LayerNormalization',
    emptyBias ? [t, gamma, ''] : [t, gamma],
    { axis: attr.int(-1), epsilon: attr.float(1e-5) },
    undefined,
    'block/norm/LayerNormalization',
  );
  const back = g.op('Transpose', [ln], { perm: attr.ints([0, 3, 1, 2]) });
  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [back])]);
  g.op('MatMul', [pooled, g.constant('head', 'float32', [4, 3], W_HEAD)], {}, 'logits');
  g.output('logits', 'float32', [batch, 3]);
  return g.model(17);
}

/** A linear model whose reshape and chunk come from shape arithmetic, as torch exports `x.view(B, C, -1)` and
 *  `x.chunk(2, dim=-1)`. */
function shapeComputedModel(chunkEndFromBatch = false): OnnxModel {
  const g = new GraphBuilder('shapes');
  g.input('image', 'float32', ['N', 2, 4, 4]);
  const c = g.op('Conv', ['image', g.constant('w', 'float32', [4, 2, 3, 3], W_CONV)], { pads: attr.ints([1, 1, 1, 1]) });
  const shape = g.op('Shape', [c]);
  const n = g.op('Unsqueeze', [
    g.op('Gather', [shape, g.constant('i0', 'int64', [], [0])], { axis: attr.int(0) }),
    g.constant('ax0', 'int64', [1], [0]),
  ]);
  const ch = g.op('Unsqueeze', [
    g.op('Gather', [shape, g.constant('i1', 'int64', [], [1])], { axis: attr.int(0) }),
    g.constant('ax0b', 'int64', [1], [0]),
  ]);
  const target = g.op('Concat', [n, ch, g.constant('minus1', 'int64', [1], [-1])], { axis: attr.int(0) });
  const flat = g.op('Reshape', [c, target]); // N × 4 × 16
  const len = g.op('Gather', [g.op('Shape', [flat]), g.constant('i2', 'int64', [1], [2])], { axis: attr.int(0) });
  const half = g.op('Div', [len, g.constant('two', 'int64', [1], [2])]);
  // The second chunk's end: its length, or (the faulty case) a value that grows with the batch.
  const end = chunkEndFromBatch ? g.op('Add', [half, n]) : g.op('Mul', [half, g.constant('two2', 'int64', [1], [2])]);
  const second = g.op('Slice', [flat, half, end, g.constant('axes', 'int64', [1], [2])], {}, undefined, 'attn/Slice_1');
  const pooled = g.op('ReduceMean', [second], { axes: attr.ints([2]), keepdims: attr.int(0) });
  g.op('MatMul', [pooled, g.constant('head', 'float32', [4, 3], W_HEAD)], {}, 'logits');
  g.output('logits', 'float32', ['N', 3]);
  return g.model(17);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected an error');
}

describe('model normalisation on open', () => {
  it('turns the onnxruntime crash on LayerNormalization(X, scale, "") into a message naming the node (normalisation off)', async () => {
    const file = save(layerNormModel(true), 'ln-empty-bias.onnx');
    const e = await rejection(openModel(file, { dropEmptyInputs: false }));
    assert.ok(isFactError(e) && e.code === 'onnxruntime-crash', String(e));
    assert.equal(e.message, `onnxruntime crashed while loading ${file} (node block/norm/LayerNormalization, op LayerNormalization).`);
  });

  it('drops the empty bias input, and explains exactly as the same model exported without it', async () => {
    const raw = await openModel(save(layerNormModel(true), 'ln-empty-bias.onnx'));
    const plain = await openModel(save(layerNormModel(false), 'ln-plain.onnx'));
    assert.equal(raw.loaded.graph.node.find((n) => n.opType === 'LayerNormalization')!.input.length, 2);
    const [a, b] = [await Explainer.create(raw), await Explainer.create(plain)];
    const x = images(2);
    const [ea, eb] = [await a.explain(x, 2), await b.explain(x, 2)];
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(ea[i]!.weights, eb[i]!.weights);
      assert.ok(ea[i]!.completenessError < 1e-4 * Math.max(1, Math.abs(ea[i]!.logit)));
    }
    await a.dispose();
    await b.dispose();
  });

  it('folds a computed reshape and a chunk slice to constants, keeping the batch symbolic; W(x) is the Jacobian', async () => {
    const model = shapeComputedModel();
    const ctx = await openModel(save(model, 'shapes.onnx'));
    const ops = ctx.loaded.graph.node.map((n) => n.opType);
    assert.ok(!ops.includes('Shape') && !ops.includes('Concat'), `shape computations left: ${ops.join(' ')}`);
    const reshapeTarget = ctx.loaded.graph.initializer.find(
      (t) => t.name === ctx.loaded.graph.node.find((n) => n.opType === 'Reshape')!.input[1],
    );
    assert.deepEqual(
      Array.from(new BigInt64Array(reshapeTarget!.rawData.slice().buffer), Number),
      [0, 4, -1],
      'the batch entry becomes "copy"',
    );
    const ex = await Explainer.create(ctx);
    const x = images(1);
    // The model is linear, so its Jacobian (taken at batch 65, which only a symbolic batch allows) is W(x).
    const { J, cols } = await denseJacobian(ctx.loaded.model, 'image', [1, 2, 4, 4], 'logits');
    for (let c = 0; c < 3; c++) {
      const [e] = await ex.explain(x, 1, [c]);
      assert.ok(maxRelDiff(e!.weights, J.subarray(c * cols, (c + 1) * cols)) < 1e-5);
    }
    await ex.dispose();
  });

  it('names the node and op when a slice bound follows the batch size and cannot be folded', async () => {
    const ctx = await openModel(save(shapeComputedModel(true), 'batch-bound.onnx'));
    const e = await rejection(Explainer.create(ctx));
    assert.ok(isFactError(e) && e.code === 'unsupported-model', String(e));
    assert.match(e.message, /^Slice 'attn\/Slice_1' .* computes from the batch size: it cannot be folded to a constant/);
  });

  it('refuses opsets below 13 and above what onnxruntime 1.30 runs, naming the file', async () => {
    for (const [opset, why] of [
      [11, /uses ONNX opset 11; export it with opset_version ≥ 13/],
      [27, /uses ONNX opset 27, newer than onnxruntime 1.30 runs \(at most 26\)/],
    ] as const) {
      const m = layerNormModel(false);
      const file = save({ ...m, irVersion: 10, opsetImport: [{ domain: '', version: opset }] }, `opset${opset}.onnx`);
      const e = await rejection(openModel(file));
      assert.ok(isFactError(e) && e.code === 'unsupported-model');
      assert.match(e.message, why);
      assert.ok(e.message.includes(file));
    }
  });

  it('taps an int64 tensor with its real type (never declared float)', async () => {
    const model = shapeComputedModel();
    const shape = model.graph!.node.find((n) => n.opType === 'Shape')!.output[0]!;
    const s = await ort.InferenceSession.create(encodeWithExtraOutputs(model, [shape]));
    const out = await s.run({ image: new ort.Tensor('float32', images(2), [2, 2, 4, 4]) });
    assert.equal(out[shape]!.type, 'int64');
    assert.deepEqual(Array.from(out[shape]!.data as BigInt64Array, Number), [2, 4, 4, 4]);
    await s.release();
  });

  it('runs a fixed-batch model in batches of its own size: check, explanations and plain runs', async () => {
    const fixed = await openModel(save(layerNormModel(true, 1), 'ln-batch1.onnx'));
    const dynamic = await openModel(save(layerNormModel(false), 'ln-dynamic.onnx'));
    assert.equal(fixed.fixedBatch, 1);
    const report = await checkModel(fixed, []);
    assert.ok(report.dynamicLinear && report.imagesTested === 4 && report.worstCompletenessRel! < 1e-4, JSON.stringify(report));
    const [a, b] = [await Explainer.create(fixed), await Explainer.create(dynamic)];
    const x = images(3);
    const [ea, eb] = [await a.explain(x, 3), await b.explain(x, 3)];
    for (let i = 0; i < 3; i++) assert.ok(maxRelDiff(ea[i]!.weights, eb[i]!.weights) < 1e-6);
    const runner = new ModelRunner();
    const run = await runner.run(fixed, x, 3);
    assert.deepEqual(run.outputs.logits!.dims, [3, 3]);
    assert.ok(maxRelDiff(run.outputs.logits!.data, Float32Array.from(eb.flatMap((e) => Array.from(e.logits)))) < 1e-6);
    await Promise.all([a.dispose(), b.dispose(), runner.dispose()]);
  });

  it('traces many cotangents of one image through a model with a fixed batch of 2, as the dynamic model does', async () => {
    const fixed = await openModel(save(layerNormModel(true, 2), 'ln-batch2.onnx'));
    const dynamic = await openModel(save(layerNormModel(false), 'ln-dynamic.onnx'));
    const [a, b] = [await Explainer.create(fixed), await Explainer.create(dynamic)];
    const layer = fixed.loaded.graph.node.find((n) => n.opType === 'LayerNormalization')!.output[0]!;
    const rr = seededRandom(4);
    const u = Float32Array.from({ length: 3 * 64 }, () => rr() - 0.5);
    const x = images(1);
    const [ta, tb] = [await a.traceFromLayer(x, layer, u, 3), await b.traceFromLayer(x, layer, u, 3)];
    assert.deepEqual(ta.traces.dims, [3, 2, 4, 4]);
    assert.deepEqual(ta.features.dims, tb.features.dims);
    assert.ok(maxRelDiff(ta.traces.data, tb.traces.data) < 1e-6);
    assert.ok(maxRelDiff(ta.features.data, tb.features.data) < 1e-6);
    const [ea, eb] = [await a.explain(images(3), 3), await b.explain(images(3), 3)];
    for (let i = 0; i < 3; i++) assert.ok(maxRelDiff(ea[i]!.weights, eb[i]!.weights) < 1e-6);
    await Promise.all([a.dispose(), b.dispose()]);
  });

  it('traces cotangents that each name their image (one forward per image) as it traces each image alone, with a fixed batch of 2 or none', async () => {
    const fixed = await openModel(save(layerNormModel(true, 2), 'ln-batch2.onnx'));
    const dynamic = await openModel(save(layerNormModel(false), 'ln-dynamic.onnx'));
    const [a, b] = [await Explainer.create(fixed), await Explainer.create(dynamic)];
    // The transposed LayerNorm reads each image's frozen inverse deviation: the rows must get their own image's.
    const layer = fixed.loaded.graph.node.find((n) => n.opType === 'LayerNormalization')!.output[0]!;
    const rr = seededRandom(5);
    const rowImage = [2, 0, 2, 1, 0];
    const u = Float32Array.from({ length: rowImage.length * 64 }, () => rr() - 0.5);
    const xs = images(3);
    const size = xs.length / 3;
    for (const ex of [a, b]) {
      const t = await ex.traceImagesFromLayer(xs, 3, layer, u, rowImage);
      assert.deepEqual(t.traces.dims, [5, 2, 4, 4]);
      assert.equal(t.bias.length, 5);
      for (const [r, i] of rowImage.entries()) {
        const alone = await b.traceFromLayer(xs.subarray(i * size, (i + 1) * size), layer, u.subarray(r * 64, (r + 1) * 64), 1);
        assert.ok(maxRelDiff(t.traces.data.subarray(r * size, (r + 1) * size), alone.traces.data) < 1e-6, `row ${r}`);
        assert.ok(maxRelDiff(t.input.data.subarray(i * size, (i + 1) * size), alone.input.data) < 1e-6, `image ${i}`);
      }
    }
    await assert.rejects(b.traceImagesFromLayer(xs, 3, layer, u.subarray(0, 128), [0, 2]), /Image 1 of 3 has no cotangent row/);
    await Promise.all([a.dispose(), b.dispose()]);
  });
});
