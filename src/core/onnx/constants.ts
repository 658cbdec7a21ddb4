// Values of constant tensors (initializers and Constant nodes), decoded to numbers, for the analyses that need them:
// reshape targets, reduce axes, biases that must be zero.
import { halfToFloat } from '../features/float16';
import { DataType } from './schema';
import { int, type OnnxGraph, type OnnxTensor } from './types';

export interface ConstantValue {
  dims: number[];
  data: Float64Array;
}

export function tensorValues(t: OnnxTensor): ConstantValue {
  const dims = t.dims.map(int);
  const count = dims.reduce((a, d) => a * d, 1);
  const raw = t.rawData;
  const out = new Float64Array(count);
  if (raw && raw.length) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < count; i++) {
      switch (t.dataType) {
        case DataType.float32:
          out[i] = view.getFloat32(4 * i, true);
          break;
        case DataType.float64:
          out[i] = view.getFloat64(8 * i, true);
          break;
        case DataType.int64:
          out[i] = Number(view.getBigInt64(8 * i, true));
          break;
        case DataType.int32:
          out[i] = view.getInt32(4 * i, true);
          break;
        case DataType.uint8:
        case DataType.bool:
          out[i] = view.getUint8(i);
          break;
        case DataType.int8:
          out[i] = view.getInt8(i);
          break;
        case DataType.float16:
          out[i] = halfToFloat(view.getUint16(2 * i, true));
          break;
        default:
          throw new Error(`constant '${t.name}' has unsupported data type ${t.dataType}`);
      }
    }
    return { dims, data: out };
  }
  const src: ArrayLike<number> =
    t.dataType === DataType.float64
      ? t.doubleData
      : t.dataType === DataType.int64
        ? t.int64Data.map(int)
        : t.dataType === DataType.float32
          ? t.floatData
          : t.int32Data;
  for (let i = 0; i < count; i++) out[i] = Number(src[i] ?? 0);
  return { dims, data: out };
}

/** A lookup of every constant tensor's value: initializers, Constant nodes, and Identity copies of either. */
export function constantLookup(g: OnnxGraph): (name: string) => ConstantValue | undefined {
  const tensors = new Map<string, OnnxTensor>(g.initializer.map((t) => [t.name, t]));
  for (const n of g.node) {
    if (n.opType !== 'Constant') continue;
    const v = n.attribute.find((a) => a.name === 'value');
    if (v?.t) tensors.set(n.output[0]!, v.t);
    const vf = n.attribute.find((a) => a.name === 'value_float');
    if (vf)
      tensors.set(n.output[0]!, {
        name: n.output[0]!,
        dims: [],
        dataType: DataType.float32,
        rawData: new Uint8Array(new Float32Array([vf.f]).buffer),
        floatData: [],
        int32Data: [],
        int64Data: [],
        doubleData: [],
        dataLocation: 0,
        externalData: [],
      });
    const vi = n.attribute.find((a) => a.name === 'value_ints' || a.name === 'value_int');
    if (vi) {
      const ints = vi.name === 'value_int' ? [int(vi.i)] : vi.ints.map(int);
      tensors.set(n.output[0]!, {
        name: n.output[0]!,
        dims: vi.name === 'value_int' ? [] : [ints.length],
        dataType: DataType.int64,
        rawData: new Uint8Array(BigInt64Array.from(ints, BigInt).buffer),
        floatData: [],
        int32Data: [],
        int64Data: [],
        doubleData: [],
        dataLocation: 0,
        externalData: [],
      });
    }
  }
  // torch.onnx.export shares equal initializers (two zero biases) through Identity nodes.
  for (let changed = true; changed;) {
    changed = false;
    for (const n of g.node) {
      const source = n.opType === 'Identity' ? tensors.get(n.input[0]!) : undefined;
      if (source && !tensors.has(n.output[0]!)) {
        tensors.set(n.output[0]!, source);
        changed = true;
      }
    }
  }
  const cache = new Map<string, ConstantValue>();
  return (name) => {
    const hit = cache.get(name);
    if (hit) return hit;
    const t = tensors.get(name);
    if (!t) return undefined;
    const v = tensorValues(t);
    cache.set(name, v);
    return v;
  };
}

export function isAllZero(v: ConstantValue | undefined): boolean {
  return !!v && v.data.every((x) => x === 0);
}
