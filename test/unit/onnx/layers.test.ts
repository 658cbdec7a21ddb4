import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder, attr } from '../../../src/core/onnx/graphBuilder';
import { indexGraph } from '../../../src/core/onnx/graphIndex';
import { findBoundaryTensors, resolveLayer } from '../../../src/core/onnx/layers';
import { modulePathOfNode } from '../../../src/core/onnx/moduleScope';
import { buildTinyBcosModel } from '../../support/tinyBcos';

describe('candidate layers', () => {
  it('recovers module paths from exporter node names', () => {
    assert.equal(modulePathOfNode('/layer2/layer2.0/conv1/Conv'), 'layer2.0.conv1');
    assert.equal(modulePathOfNode('/0/transformer/encoder_10/attn/MatMul'), '0.transformer.encoder_10.attn');
    assert.equal(modulePathOfNode('/features/denseblock1/denselayer1/Concat'), 'features.denseblock1.denselayer1');
    assert.equal(modulePathOfNode('Conv_12'), '');
  });

  it('finds block boundaries, not tensors inside a residual block', () => {
    const g = buildTinyBcosModel().graph!;
    const b = findBoundaryTensors(g, indexGraph(g), 'input');
    assert.deepEqual(
      b.map((x) => x.label),
      ['layer1', 'layer2', 'layer3', 'classifier', 'pool'],
    );
    const l2 = b.find((x) => x.label === 'layer2')!;
    assert.equal(l2.tensor, 'layer2');
    assert.deepEqual(l2.aliases, ['layer2.0']);
    // The first conv of the residual block is bypassed by the skip connection: not a boundary.
    assert.ok(!b.some((x) => x.label.startsWith('layer2.0.conv')));
  });

  it('labels boundaries by tensor name when the graph has no module scopes', () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', [1, 2, 4, 4]);
    const w = g.constant('w', 'float32', [2, 2, 1, 1], [1, 0, 0, 1]);
    const a = g.op('Conv', ['x', w], { kernel_shape: attr.ints([1, 1]) }, 'a', 'Conv_0');
    const b1 = g.op('Abs', [a], {}, 'b1', 'Abs_1');
    const b2 = g.op('Mul', [a, b1], {}, 'b2', 'Mul_2');
    g.op('ReduceSum', [b2], { keepdims: attr.int(0) }, 'y', 'ReduceSum_3');
    g.output('y');
    const graph = g.model().graph!;
    const found = findBoundaryTensors(graph, indexGraph(graph), 'x');
    assert.deepEqual(
      found.map((f) => [f.label, f.depth]),
      [
        ['a', 0],
        ['b2', 0],
      ],
    );
  });

  it('an unknown layer name lists the valid ones', () => {
    const g = buildTinyBcosModel().graph!;
    const b = findBoundaryTensors(g, indexGraph(g), 'input');
    assert.equal(resolveLayer(b, 'layer2.0').tensor, 'layer2');
    assert.throws(
      () => resolveLayer(b, 'layer9', 'tiny.onnx'),
      (e: Error & { code?: string }) =>
        e.code === 'bad-layer' && e.message.includes("'tiny.onnx' has no layer 'layer9'. Valid layers: layer1, layer2, layer3, classifier"),
    );
  });
});
