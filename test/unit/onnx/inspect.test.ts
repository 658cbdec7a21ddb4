import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../../../src/core/onnx/graphBuilder';
import { findImageInput, summarizeModel } from '../../../src/core/onnx/inspect';
import { buildTinyBcosModel } from '../../support/tinyBcos';

describe('model inspection', () => {
  it('finds the encoded image input and summarises the graph', () => {
    const m = buildTinyBcosModel();
    const input = findImageInput(m.graph!);
    assert.deepEqual(input, { name: 'input', channels: 2, height: 8, width: 8, encoding: 'encoded', colorSpace: 'grayscale' });
    const s = summarizeModel(m);
    assert.equal(s.opCounts.Conv, 10);
    assert.equal(s.inputs.length, 1, 'initializers are not inputs');
    assert.deepEqual(s.outputs[0], { name: 'logits', dtype: 'float32', shape: ['N', 3] });
  });

  it('recognises a raw RGB input whose B-cos encoding happens inside the graph', () => {
    const input = findImageInput(buildTinyBcosModel({ channels: 3, encodingInGraph: true }).graph!);
    assert.equal(input.encoding, 'raw');
    assert.equal(input.colorSpace, 'rgb');
  });

  it('rejects a model whose input is not an image tensor, saying why', () => {
    const g = new GraphBuilder();
    g.input('features', 'float32', ['N', 10]);
    const w = g.constant('w', 'float32', [10, 3], new Float32Array(30));
    g.op('MatMul', ['features', w], {}, 'y');
    g.output('y');
    assert.throws(
      () => findImageInput(g.model().graph!, 'mlp.onnx'),
      (e: Error & { code?: string }) =>
        e.code === 'not-image-model' && /'mlp\.onnx' has no image input: 'features' has shape \[N, 10\], not N×C×H×W/.test(e.message),
    );
  });

  it('rejects an image-shaped input with an unsupported channel count', () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', [1, 4, 8, 8]);
    g.op('Identity', ['x'], {}, 'y');
    g.output('y');
    assert.throws(() => findImageInput(g.model().graph!), /'x' has 4 channels/);
  });
});
