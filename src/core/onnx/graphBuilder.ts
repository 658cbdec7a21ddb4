// A small builder for ONNX graphs: used to make the graphs the engine runs (and the tiny models the tests need).
// It produces plain objects in the decoded-protobuf shape, so `encodeModel` serialises them like a loaded model.
import { DataType, type DataTypeName } from './schema';
import type { Dim, OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './types';

const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** Attribute values are explicit about INT vs FLOAT, since a JS number cannot tell them apart. */
export type AttrValue =
  { int: number } | { float: number } | { ints: number[] } | { floats: number[] } | { string: string } | { tensor: OnnxTensor };

export const attr = {
  int: (v: number): AttrValue => ({ int: v }),
  float: (v: number): AttrValue => ({ float: v }),
  ints: (v: number[]): AttrValue => ({ ints: v }),
  floats: (v: number[]): AttrValue => ({ floats: v }),
  string: (v: string): AttrValue => ({ string: v }),
  tensor: (v: OnnxTensor): AttrValue => ({ tensor: v }),
};

function toAttribute(name: string, v: AttrValue): OnnxAttribute {
  const a = {
    name,
    f: 0,
    i: 0,
    s: new Uint8Array(0),
    floats: [] as number[],
    ints: [] as number[],
    strings: [],
  } as unknown as OnnxAttribute;
  if ('int' in v) Object.assign(a, { type: AttrType.INT, i: v.int });
  else if ('float' in v) Object.assign(a, { type: AttrType.FLOAT, f: v.float });
  else if ('ints' in v) Object.assign(a, { type: AttrType.INTS, ints: v.ints });
  else if ('floats' in v) Object.assign(a, { type: AttrType.FLOATS, floats: v.floats });
  else if ('string' in v) Object.assign(a, { type: AttrType.STRING, s: new TextEncoder().encode(v.string) });
  else Object.assign(a, { type: AttrType.TENSOR, t: v.tensor });
  return a;
}

type NumericArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A tensor with its data as little-endian raw bytes (the layout ONNX and onnxruntime expect). */
export function makeTensor(name: string, dtype: DataTypeName, dims: number[], data: NumericArray | number[]): OnnxTensor {
  let typed: NumericArray;
  if (Array.isArray(data)) {
    if (dtype === 'float32') typed = Float32Array.from(data);
    else if (dtype === 'float64') typed = Float64Array.from(data);
    else if (dtype === 'int64') typed = BigInt64Array.from(data, (x) => BigInt(x));
    else if (dtype === 'int32') typed = Int32Array.from(data);
    else typed = Uint8Array.from(data);
  } else typed = data;
  const rawData = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  return {
    name,
    dims,
    dataType: DataType[dtype],
    rawData,
    floatData: [],
    int32Data: [],
    int64Data: [],
    doubleData: [],
    dataLocation: 0,
    externalData: [],
  };
}

export function valueInfo(name: string, dtype: DataTypeName, shape?: Dim[]): OnnxValueInfo {
  const dim = shape?.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d ?? '?' }));
  return { name, type: { tensorType: { elemType: DataType[dtype], ...(dim ? { shape: { dim } } : {}) } } };
}

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  private counter = 0;

  constructor(
    readonly name = 'graph',
    readonly prefix = '',
  ) {}

  /** A fresh tensor name that cannot clash with the names of a graph we extend. */
  fresh(hint: string): string {
    return `${this.prefix}${hint}__${this.counter++}`;
  }

  input(name: string, dtype: DataTypeName, shape?: Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  output(name: string, dtype: DataTypeName = 'float32', shape?: Dim[]): string {
    this.outputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  constant(hint: string, dtype: DataTypeName, dims: number[], data: NumericArray | number[]): string {
    const name = this.fresh(hint);
    this.initializers.push(makeTensor(name, dtype, dims, data));
    return name;
  }

  /** Adds a node and returns its output names; `outputs` is a count of fresh names or explicit names. */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outputs: number | string[] = 1,
    nodeName?: string,
  ): string[] {
    const base = nodeName ?? this.fresh(opType);
    const output = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, k) => `${base}:${k}`) : outputs;
    this.nodes.push({
      input: inputs,
      output,
      name: base,
      opType,
      domain: '',
      attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
    });
    return output;
  }

  /** Adds a single-output node and returns its output name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputName?: string, nodeName?: string): string {
    return this.node(opType, inputs, attrs, outputName ? [outputName] : 1, nodeName)[0]!;
  }

  model(opset = 17, producerName = 'fact-vscode'): OnnxModel {
    const irVersion = opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
    return {
      irVersion,
      producerName,
      producerVersion: '',
      opsetImport: [{ domain: '', version: opset }],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs, valueInfo: [] },
    };
  }
}
