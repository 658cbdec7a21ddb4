// A small foundation model for C² on the tiny model's 8×8 images (one strided convolution and a ReLU).
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { attr, GraphBuilder } from '../../src/core/onnx/graphBuilder';
import { encodeModel } from '../../src/core/onnx/modelFile';

/** Writes it as `foundation.onnx` into `dir` and returns the file. */
export function writeFoundation(dir: string): string {
  const g = new GraphBuilder('foundation');
  g.input('image', 'float32', ['N', 1, 8, 8]);
  const w = g.constant(
    'w',
    'float32',
    [4, 1, 3, 3],
    Float32Array.from({ length: 36 }, (_, i) => Math.sin(i)),
  );
  g.op('Relu', [g.op('Conv', ['image', w], { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) })], {}, 'features');
  g.output('features');
  const file = path.join(dir, 'foundation.onnx');
  writeFileSync(file, encodeModel(g.model()));
  return file;
}
