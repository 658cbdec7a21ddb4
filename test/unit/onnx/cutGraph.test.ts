// Cutting a model after some of its tensors: only what computes them is kept, and they come out as the full model's.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModelFile } from '../../../src/core/onnx/modelFile';
import { cutAtTensors, encodeCutAtTensors } from '../../../src/core/onnx/cutGraph';
import { encodeWithExtraOutputs } from '../../../src/core/onnx/surgery';
import { fixtures } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

describe('cutting a model after tensors', () => {
  it('keeps only the nodes and weights before the tensors, which equal the whole model tapped', async () => {
    const { model } = await loadModelFile(tiny);
    const cut = cutAtTensors(model, ['layer2'])!;
    const g = cut.graph!;
    assert.deepEqual(
      g.output.map((o) => o.name),
      ['layer2'],
    );
    assert.ok(g.node.length < model.graph!.node.length);
    assert.ok(!g.node.some((n) => /layer3|classifier|pool/.test(n.output[0]!)), 'nothing after layer2 is left');
    assert.ok(!g.initializer.some((t) => /layer3|classifier|logit_bias/.test(t.name)), 'no weight after layer2 is left');
    assert.equal(model.graph!.output[0]!.name, 'logits', 'the model itself is unchanged');
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 2 * 2 * 64 }, (_, i) => Math.sin(i)),
      [2, 2, 8, 8],
    );
    const whole = await ort.InferenceSession.create(encodeWithExtraOutputs(model, ['layer2']));
    const part = await ort.InferenceSession.create(encodeCutAtTensors(model, ['layer2'])!);
    const a = (await whole.run({ input: x }, ['layer2'])).layer2!.data as Float32Array;
    const b = (await part.run({ input: x }, ['layer2'])).layer2!.data as Float32Array;
    assert.deepEqual(b, a);
    await whole.release();
    await part.release();
  });

  it('names a tensor the model does not produce, and leaves a model with subgraphs whole', async () => {
    const { model } = await loadModelFile(tiny);
    assert.throws(() => cutAtTensors(model, ['nope']), /no tensor 'nope' produced by a node/);
    const g = model.graph!;
    const withIf = { ...model, graph: { ...g, node: [...g.node, { ...g.node[0]!, attribute: [{ ...g.node[0]!.attribute[0]!, g }] }] } };
    assert.equal(cutAtTensors(withIf, ['layer2']), undefined);
  });
});
