// The WebGPU rewrites compute the same function as the original graph (checked on the CPU, exactly or to float32
// rounding), and they touch only what they must.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { attr, GraphBuilder } from '../../../src/core/onnx/graphBuilder';
import { encodeModel } from '../../../src/core/onnx/modelFile';
import { rewriteForWebGpu, webgpuConvChannelsAreWrong } from '../../../src/core/onnx/webgpuRewrites';

async function runCpu(model: ReturnType<GraphBuilder['model']>, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(model), { executionProviders: ['cpu'], logSeverityLevel: 3 });
  const r = await s.run(feeds);
  await s.release();
  return r.y!.data as Float32Array;
}

describe('graph rewrites for WebGPU', () => {
  it('knows which Conv input-channel counts onnxruntime 1.30 WebGPU gets wrong (measured: 6, 9, 15, 18, 21, 27, …)', () => {
    assert.deepEqual([...Array(40).keys()].filter(webgpuConvChannelsAreWrong), [6, 9, 15, 18, 21, 27, 30, 33, 39]);
  });

  it('pads a 6-channel Conv to 8 zero-weighted channels without changing its output', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 6, 9, 9]);
    const w = g.constant(
      'w',
      'float32',
      [4, 6, 3, 3],
      Float32Array.from({ length: 216 }, (_, i) => Math.sin(i)),
    );
    g.output(
      g.op(
        'Conv',
        [x, w, g.constant('b', 'float32', [4], [1, 2, 3, 4])],
        { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) },
        'y',
      ),
    );
    const model = g.model();
    const { model: rewritten, rewrites, cpuNodes } = rewriteForWebGpu(model);
    assert.equal(rewrites.length, 1);
    assert.match(rewrites[0]!.change, /input channels 6 padded with zeros to 8/);
    assert.deepEqual(cpuNodes, []);
    assert.deepEqual(
      rewritten.graph!.node.map((n) => n.opType),
      ['Pad', 'Conv'],
    );
    assert.equal(model.graph!.node.length, 1, 'the original model is untouched');
    const feeds = {
      x: new ort.Tensor(
        'float32',
        Float32Array.from({ length: 2 * 6 * 81 }, (_, i) => Math.cos(i * 0.3)),
        [2, 6, 9, 9],
      ),
    };
    assert.deepEqual(Array.from(await runCpu(rewritten, feeds)), Array.from(await runCpu(model, feeds)));
  });

  it('leaves 1×1 and 8-channel convolutions alone, turns Sum into Adds, and names MaxPools with Indices for the CPU', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 6, 4, 4]);
    const a = g.op('Conv', [x, g.constant('w1', 'float32', [8, 6, 1, 1], new Array(48).fill(0.5))]);
    const b = g.op('Conv', [a, g.constant('w2', 'float32', [8, 8, 3, 3], new Array(576).fill(0.1))], { pads: attr.ints([1, 1, 1, 1]) });
    const [m] = g.node('MaxPool', [b], { kernel_shape: attr.ints([2, 2]) }, [g.fresh('mp'), g.fresh('mp_idx')], '');
    const y = g.op('Sum', [m!, m!, m!], {}, 'y');
    g.output(y);
    const model = g.model();
    const { model: rewritten, rewrites, cpuNodes } = rewriteForWebGpu(model);
    assert.deepEqual(
      rewritten.graph!.node.map((n) => n.opType),
      ['Conv', 'Conv', 'MaxPool', 'Add', 'Add'],
    );
    assert.equal(cpuNodes.length, 1);
    assert.ok(cpuNodes[0]!.length > 0, 'an unnamed MaxPool gets a name');
    assert.equal(rewritten.graph!.node[2]!.name, cpuNodes[0]);
    assert.equal(rewrites.length, 2);
    const feeds = {
      x: new ort.Tensor(
        'float32',
        Float32Array.from({ length: 96 }, (_, i) => i / 96),
        [1, 6, 4, 4],
      ),
    };
    const [got, want] = [await runCpu(rewritten, feeds), await runCpu(model, feeds)];
    for (let i = 0; i < want.length; i++)
      assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-6 * Math.abs(want[i]!), `${i}: ${got[i]} vs ${want[i]}`);
  });
});
