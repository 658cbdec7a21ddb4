// IDX files (the MNIST family's format), gzipped or not: magic 0x00 0x00 <type> <rank>, big-endian u32 dims, data.
import { gunzipSync } from 'node:zlib';
import { FactError } from '../errors';
import { readFileOrThrow } from '../util/files';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
export interface IdxTensor {
  dims: number[];
  data: IdxData;
  type: 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
}

const TYPES: Record<number, { type: IdxTensor['type']; size: number }> = {
  0x08: { type: 'uint8', size: 1 },
  0x09: { type: 'int8', size: 1 },
  0x0b: { type: 'int16', size: 2 },
  0x0c: { type: 'int32', size: 4 },
  0x0d: { type: 'float32', size: 4 },
  0x0e: { type: 'float64', size: 8 },
};

export async function readIdxFile(file: string): Promise<IdxTensor> {
  return parseIdx(await readFileOrThrow(file, 'IDX file'), file);
}

export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxTensor {
  const bad = (why: string) => new FactError('bad-idx', `'${source}' is not a valid IDX file: ${why}.`, { file: source });
  let buf = bytes;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw bad(`its gzip stream is damaged or truncated (${(e as Error).message})`);
    }
  }
  if (buf.length < 4) throw bad(`it is only ${buf.length} bytes long`);
  if (buf[0] !== 0 || buf[1] !== 0 || !(buf[2]! in TYPES)) {
    const magic = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw bad(`wrong magic number 0x${magic} (expected 0x0000TTRR with type TT in 08,09,0B,0C,0D,0E)`);
  }
  const { type, size } = TYPES[buf[2]!]!;
  const rank = buf[3]!;
  const headerLength = 4 + 4 * rank;
  if (rank === 0) throw bad('its rank is 0');
  if (buf.length < headerLength) throw bad(`its header is truncated (${buf.length} of ${headerLength} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims = Array.from({ length: rank }, (_, k) => view.getUint32(4 + 4 * k, false));
  const count = dims.reduce((a, d) => a * d, 1);
  const expected = headerLength + count * size;
  if (buf.length < expected)
    throw bad(`its data is truncated: ${buf.length - headerLength} of ${count * size} bytes for dims [${dims.join(', ')}]`);
  return { dims, type, data: decodeBigEndian(buf.subarray(headerLength, expected), type, count) };
}

function decodeBigEndian(raw: Uint8Array, type: IdxTensor['type'], count: number): IdxData {
  if (type === 'uint8') return new Uint8Array(raw);
  if (type === 'int8') return new Int8Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (type) {
    case 'int16':
      return Int16Array.from({ length: count }, (_, i) => view.getInt16(2 * i, false));
    case 'int32':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, false));
    case 'float32':
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, false));
    default:
      return Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, false));
  }
}
