// Small emitters for the ONNX ops the transposed graphs are made of, written once for opset ≥ 17 (and the
// axes-as-input change of the reduce ops at opset 18).
import { GraphBuilder, attr } from '../onnx/graphBuilder';

export class Emitter {
  constructor(
    readonly b: GraphBuilder,
    readonly opset: number,
  ) {}

  i64(values: number[], hint = 'i64'): string {
    return this.b.constant(hint, 'int64', [values.length], values);
  }

  f32(values: number[], dims: number[] = [values.length], hint = 'f32'): string {
    return this.b.constant(hint, 'float32', dims, values);
  }

  scalar(v: number): string {
    return this.b.constant('scalar', 'float32', [], [v]);
  }

  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    return this.b.op('ReduceSum', [x, this.i64(axes, 'axes')], { keepdims: attr.int(keepdims ? 1 : 0) });
  }

  reduceMean(x: string, axes: number[], keepdims: boolean): string {
    if (this.opset >= 18) return this.b.op('ReduceMean', [x, this.i64(axes, 'axes')], { keepdims: attr.int(keepdims ? 1 : 0) });
    return this.b.op('ReduceMean', [x], { axes: attr.ints(axes), keepdims: attr.int(keepdims ? 1 : 0) });
  }

  unsqueeze(x: string, axes: number[]): string {
    return axes.length ? this.b.op('Unsqueeze', [x, this.i64(axes, 'axes')]) : x;
  }

  /** A 1-element int64 tensor holding dim 0 (the batch) of `t`, computed at run time. */
  batchDim(t: string): string {
    const shape = this.b.op('Shape', [t]);
    return this.b.op('Slice', [shape, this.i64([0]), this.i64([1]), this.i64([0])]);
  }

  /** The shape [batch of `like`, ...rest] as an int64 tensor. */
  batchShape(like: string, rest: number[]): string {
    return rest.length ? this.b.op('Concat', [this.batchDim(like), this.i64(rest, 'dims')], { axis: attr.int(0) }) : this.batchDim(like);
  }

  reshapeLike(x: string, like: string, rest: number[]): string {
    return this.b.op('Reshape', [x, this.batchShape(like, rest)]);
  }

  zerosLike(like: string, rest: number[]): string {
    return this.b.op('ConstantOfShape', [this.batchShape(like, rest)], {
      value: attr.tensor({
        name: '',
        dims: [1],
        dataType: 1,
        rawData: new Uint8Array(4),
        floatData: [],
        int32Data: [],
        int64Data: [],
        doubleData: [],
        dataLocation: 0,
        externalData: [],
      }),
    });
  }

  slice(x: string, starts: number[], ends: number[], axes: number[]): string {
    return this.b.op('Slice', [x, this.i64(starts), this.i64(ends), this.i64(axes)]);
  }

  maskOf(condition: string): string {
    return this.b.op('Cast', [condition], { to: attr.int(1) });
  }

  sum(terms: string[]): string {
    if (terms.length === 1) return terms[0]!;
    return this.b.op('Sum', terms);
  }
}
