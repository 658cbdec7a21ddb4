// Every op the transposer supports, checked against the naive dense Jacobian of a one-op graph (zennit-style).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { attr } from '../../../src/core/onnx/graphBuilder';
import { maxRelDiff } from '../../support/denseJacobian';
import { transposeVsJacobian, type OpCase } from './opHarness';

const r = (rand: () => number, n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);

const cases: Record<string, OpCase> = {
  'Conv (stride 2, pads, dilation)': {
    inDims: [1, 3, 7, 6],
    build: (g, x, rand) =>
      g.op('Conv', [x, g.constant('w', 'float32', [4, 3, 3, 3], r(rand, 108))], {
        strides: attr.ints([2, 2]),
        pads: attr.ints([1, 0, 1, 1]),
        dilations: attr.ints([1, 2]),
      }),
  },
  'Conv (groups, SAME_UPPER)': {
    inDims: [1, 4, 5, 5],
    build: (g, x, rand) =>
      g.op('Conv', [x, g.constant('w', 'float32', [4, 2, 3, 3], r(rand, 72))], {
        group: attr.int(2),
        auto_pad: attr.string('SAME_UPPER'),
        strides: attr.ints([2, 2]),
      }),
  },
  // Strided convolutions transpose as stride-1 convolutions per output phase (polyphase) interleaved by DepthToSpace.
  'Conv (stride 2, 7×7, pads 3: a ResNet stem, odd input size)': {
    inDims: [1, 2, 9, 8],
    build: (g, x, rand) =>
      g.op('Conv', [x, g.constant('w', 'float32', [3, 2, 7, 7], r(rand, 294))], {
        strides: attr.ints([2, 2]),
        pads: attr.ints([3, 3, 3, 3]),
      }),
  },
  'Conv (1×1, stride 2: a downsampling shortcut, phases without taps)': {
    inDims: [1, 3, 5, 6],
    build: (g, x, rand) => g.op('Conv', [x, g.constant('w', 'float32', [4, 3, 1, 1], r(rand, 12))], { strides: attr.ints([2, 2]) }),
  },
  // Many input channels: one Conv per phase (the stem above, with 2, is one Conv with a channel per phase).
  'Conv (stride 2, 3×3, 16 input channels: a Conv per phase)': {
    inDims: [1, 16, 5, 4],
    build: (g, x, rand) =>
      g.op('Conv', [x, g.constant('w', 'float32', [3, 16, 3, 3], r(rand, 432))], {
        strides: attr.ints([2, 2]),
        pads: attr.ints([1, 1, 1, 1]),
      }),
  },
  'Conv (kernel = stride 3: patches, input not a multiple)': {
    inDims: [1, 2, 7, 6],
    build: (g, x, rand) => g.op('Conv', [x, g.constant('w', 'float32', [4, 2, 3, 3], r(rand, 72))], { strides: attr.ints([3, 3]) }),
  },
  'Conv (stride 2 by 1: unequal strides, as ConvTranspose)': {
    inDims: [1, 2, 6, 5],
    build: (g, x, rand) =>
      g.op('Conv', [x, g.constant('w', 'float32', [3, 2, 3, 3], r(rand, 54))], {
        strides: attr.ints([2, 1]),
        pads: attr.ints([1, 1, 1, 1]),
      }),
  },
  'Conv (stride 1, 3×3, pads, dilation 2, as a flipped Conv)': {
    inDims: [1, 3, 7, 6],
    build: (g, x, rand) =>
      g.op('Conv', [x, g.constant('w', 'float32', [4, 3, 3, 3], r(rand, 108))], {
        pads: attr.ints([2, 1, 2, 1]),
        dilations: attr.ints([2, 1]),
      }),
  },
  'Conv (stride 1, groups, 5×3 kernel)': {
    inDims: [1, 4, 6, 5],
    build: (g, x, rand) =>
      g.op('Conv', [x, g.constant('w', 'float32', [6, 2, 5, 3], r(rand, 180))], { group: attr.int(2), pads: attr.ints([2, 1, 2, 1]) }),
  },
  'Conv 1×1': {
    inDims: [1, 5, 3, 3],
    build: (g, x, rand) => g.op('Conv', [x, g.constant('w', 'float32', [2, 5, 1, 1], r(rand, 10))]),
  },
  ConvTranspose: {
    inDims: [1, 2, 3, 3],
    build: (g, x, rand) =>
      g.op('ConvTranspose', [x, g.constant('w', 'float32', [2, 3, 3, 3], r(rand, 54))], {
        strides: attr.ints([2, 2]),
        pads: attr.ints([1, 1, 1, 1]),
      }),
  },
  'MaxPool (overlapping windows)': {
    inDims: [1, 2, 5, 5],
    piecewise: true,
    build: (g, x) => g.op('MaxPool', [x], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([1, 1]), pads: attr.ints([1, 1, 1, 1]) }),
  },
  'MaxPool (stride 2, ceil mode)': {
    inDims: [1, 2, 5, 5],
    piecewise: true,
    build: (g, x) => g.op('MaxPool', [x], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) }),
  },
  'AveragePool (pads excluded from the count)': {
    inDims: [1, 2, 5, 4],
    build: (g, x) =>
      g.op('AveragePool', [x], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 1]), pads: attr.ints([1, 1, 1, 1]) }),
  },
  'AveragePool (pads counted)': {
    inDims: [1, 2, 5, 4],
    build: (g, x) =>
      g.op('AveragePool', [x], {
        kernel_shape: attr.ints([3, 3]),
        strides: attr.ints([2, 2]),
        pads: attr.ints([1, 1, 1, 1]),
        count_include_pad: attr.int(1),
      }),
  },
  GlobalAveragePool: { inDims: [1, 3, 3, 4], build: (g, x) => g.op('GlobalAveragePool', [x]) },
  'ReduceSum (keepdims 0)': {
    inDims: [1, 3, 4],
    build: (g, x) => g.op('ReduceSum', [x, g.constant('axes', 'int64', [1], [2])], { keepdims: attr.int(0) }),
  },
  'ReduceMean (axes attribute)': {
    inDims: [1, 3, 2, 2],
    build: (g, x) => g.op('ReduceMean', [x], { axes: attr.ints([2, 3]), keepdims: attr.int(1) }),
  },
  'ReduceMax (max-out)': {
    inDims: [1, 2, 3, 4],
    piecewise: true,
    build: (g, x) => g.op('ReduceMax', [x], { axes: attr.ints([1]), keepdims: attr.int(0) }),
  },
  'ReduceMin (min-out, keepdims)': {
    inDims: [1, 3, 2, 3],
    piecewise: true,
    build: (g, x) => g.op('ReduceMin', [x], { axes: attr.ints([1, 3]), keepdims: attr.int(1) }),
  },
  // Exporters leave a float-to-float Cast and an inference-mode Dropout (its ratio an input) in the graph: identities.
  'Cast (float32 to float32) of a scaled tensor': {
    inDims: [1, 2, 3],
    build: (g, x, rand) => g.op('Cast', [g.op('Mul', [x, g.constant('c', 'float32', [1, 2, 3], r(rand, 6))])], { to: attr.int(1) }),
  },
  'Dropout (inference, ratio given) of a scaled tensor': {
    inDims: [1, 2, 3],
    build: (g, x, rand) =>
      g.op('Dropout', [g.op('Mul', [x, g.constant('c', 'float32', [1, 2, 3], r(rand, 6))]), g.constant('ratio', 'float32', [], [0.5])]),
  },
  'Reshape and Flatten': {
    inDims: [1, 2, 3, 2],
    build: (g, x) => g.op('Flatten', [g.op('Reshape', [x, g.constant('s', 'int64', [3], [0, 3, 4])])], { axis: attr.int(1) }),
  },
  'Transpose, Squeeze, Unsqueeze': {
    inDims: [1, 2, 3],
    build: (g, x) =>
      g.op('Squeeze', [
        g.op('Unsqueeze', [g.op('Transpose', [x], { perm: attr.ints([0, 2, 1]) }), g.constant('a', 'int64', [1], [3])]),
        g.constant('a', 'int64', [1], [3]),
      ]),
  },
  'Concat of two linear branches': {
    inDims: [1, 2, 3],
    build: (g, x, rand) => g.op('Concat', [x, g.op('Mul', [x, g.constant('c', 'float32', [1, 2, 1], r(rand, 2))])], { axis: attr.int(2) }),
  },
  'Split (one output unused)': {
    inDims: [1, 6, 2],
    build: (g, x) => {
      const [a, , c] = g.node('Split', [x, g.constant('s', 'int64', [3], [1, 2, 3])], { axis: attr.int(1) }, 3);
      return g.op('Concat', [c!, a!], { axis: attr.int(1) });
    },
  },
  'Slice (negative start, axes)': {
    inDims: [1, 3, 5],
    build: (g, x) =>
      g.op('Slice', [
        x,
        g.constant('s', 'int64', [2], [1, -4]),
        g.constant('e', 'int64', [2], [3, 4]),
        g.constant('a', 'int64', [2], [1, 2]),
      ]),
  },
  'Pad with zeros': { inDims: [1, 2, 3], build: (g, x) => g.op('Pad', [x, g.constant('p', 'int64', [6], [0, 1, 2, 0, 0, 1])]) },
  'Gather (scalar index: a class token)': {
    inDims: [1, 4, 3],
    build: (g, x) => g.op('Gather', [x, g.constant('i', 'int64', [], [2])], { axis: attr.int(1) }),
  },
  'Gather (index list, repeated)': {
    inDims: [1, 4, 3],
    build: (g, x) => g.op('Gather', [x, g.constant('i', 'int64', [3], [3, 0, 3])], { axis: attr.int(1) }),
  },
  Relu: { inDims: [1, 3, 4], piecewise: true, build: (g, x) => g.op('Relu', [x]) },
  LeakyRelu: { inDims: [1, 3, 4], piecewise: true, build: (g, x) => g.op('LeakyRelu', [x], { alpha: attr.float(0.2) }) },
  'Max of two linear tensors': {
    inDims: [1, 6],
    piecewise: true,
    build: (g, x, rand) => g.op('Max', [x, g.op('Mul', [x, g.constant('c', 'float32', [6], r(rand, 6))])]),
  },
  'Min of two linear tensors': {
    inDims: [1, 2, 3],
    piecewise: true,
    build: (g, x, rand) => g.op('Min', [g.op('Mul', [x, g.constant('c', 'float32', [1, 1, 3], r(rand, 3))]), g.op('Neg', [x])]),
  },
  'Mul and Div by broadcast constants': {
    inDims: [1, 3, 1, 2],
    build: (g, x, rand) =>
      g.op('Div', [
        g.op('Mul', [x, g.constant('c', 'float32', [1, 3, 4, 2], r(rand, 24))]),
        g.constant('d', 'float32', [1, 1, 4, 1], [1.5, -2, 3, 0.5]),
      ]),
  },
  'Add, Sub, Neg, Sum and Mean of linear branches': {
    inDims: [1, 2, 3],
    build: (g, x, rand) => {
      const a = g.op('Mul', [x, g.constant('c', 'float32', [1, 1, 3], r(rand, 3))]);
      const s = g.op('Sub', [g.op('Add', [x, a]), g.op('Neg', [a])]);
      return g.op('Mean', [g.op('Sum', [s, x, a]), x]);
    },
  },
  Expand: { inDims: [1, 3, 1], build: (g, x) => g.op('Expand', [x, g.constant('s', 'int64', [3], [1, 3, 4])]) },
  'MatMul (linear × constant)': {
    inDims: [1, 3, 4],
    build: (g, x, rand) => g.op('MatMul', [x, g.constant('w', 'float32', [4, 5], r(rand, 20))]),
  },
  'MatMul (constant × linear)': {
    inDims: [1, 3, 4],
    build: (g, x, rand) => g.op('MatMul', [g.constant('w', 'float32', [2, 3], r(rand, 6)), x]),
  },
  'Gemm (transA, transB, alpha)': {
    inDims: [1, 4],
    build: (g, x, rand) =>
      g.op('Gemm', [x, g.constant('w', 'float32', [3, 4], r(rand, 12))], { transB: attr.int(1), alpha: attr.float(0.5) }),
  },
  'BatchNormalization without bias (uncentred)': {
    inDims: [1, 3, 2, 2],
    build: (g, x) =>
      g.op('BatchNormalization', [
        x,
        g.constant('s', 'float32', [3], [1, 2, -1]),
        g.constant('b', 'float32', [3], [0, 0, 0]),
        g.constant('m', 'float32', [3], [0, 0, 0]),
        g.constant('v', 'float32', [3], [1, 4, 0.25]),
      ]),
  },
  'Where with an input-independent condition': {
    inDims: [1, 4],
    piecewise: true,
    build: (g, x) => g.op('Where', [g.constant('cond', 'bool', [4], [1, 0, 1, 0]), x, g.op('Neg', [x])]),
  },
};

describe('transposition of each supported op against its dense Jacobian', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const { engine, reference } = await transposeVsJacobian(c);
      assert.equal(engine.length, reference.length);
      const tol = c.piecewise ? 2e-3 : 1e-5;
      const d = maxRelDiff(engine, reference);
      assert.ok(d <= tol, `max relative difference ${d}`);
      assert.ok(
        reference.some((v) => Math.abs(v) > 1e-3),
        'the Jacobian is not trivially zero',
      );
    });
  }
});
