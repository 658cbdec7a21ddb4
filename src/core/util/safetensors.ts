// The safetensors format (8-byte little-endian header length, a JSON header of dtype/shape/data_offsets per tensor,
// then the raw little-endian data), read and written without dependencies. Python users load our files with
// `safetensors.numpy.load_file`; we read the fixtures PyTorch wrote the same way.
import { FactError } from '../errors';
import { fromHalfArray } from '../features/float16';
import { readFileOrThrow, writeFileAtomic } from './files';

export type SafeDtype = 'F32' | 'F16' | 'F64' | 'I64' | 'I32' | 'U8' | 'I8' | 'BOOL';
export type SafeArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Uint16Array;

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  data: SafeArray;
}
export interface SafeFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafeDtype, number> = { F32: 4, F16: 2, F64: 8, I64: 8, I32: 4, U8: 1, I8: 1, BOOL: 1 };

function view(dtype: SafeDtype, buf: ArrayBuffer, offset: number, count: number): SafeArray {
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf, offset, count);
    case 'F64':
      return new Float64Array(buf, offset, count);
    case 'I64':
      return new BigInt64Array(buf, offset, count);
    case 'I32':
      return new Int32Array(buf, offset, count);
    case 'F16':
      return new Uint16Array(buf, offset, count);
    case 'I8':
      return new Int8Array(buf, offset, count);
    default:
      return new Uint8Array(buf, offset, count);
  }
}

/** Where one tensor's data lies in a safetensors file's bytes. */
export interface SafeTensorPlace {
  dtype: SafeDtype;
  shape: number[];
  count: number;
  begin: number;
  end: number;
}

/** The validated header of a safetensors file: each tensor's place in `bytes` (absolute offsets), nothing copied. */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  source = 'safetensors data',
): { places: Record<string, SafeTensorPlace>; metadata: Record<string, string>; dataStart: number } {
  const bad = (why: string) => new FactError('bad-input', `'${source}' is not a valid safetensors file: ${why}.`, { file: source });
  if (bytes.length < 8) throw bad(`it is only ${bytes.length} bytes long`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(dv.getBigUint64(0, true));
  if (headerLength > bytes.length - 8 || headerLength > 100_000_000)
    throw bad(`its header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length (truncated?)`);
  let header: Record<string, { dtype: SafeDtype; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw bad('its header is not JSON');
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const places: Record<string, SafeTensorPlace> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const t = entry as { dtype: SafeDtype; shape: number[]; data_offsets: [number, number] };
    const size = BYTES[t.dtype];
    if (!size) throw bad(`tensor '${name}' has the unsupported dtype ${t.dtype}`);
    const [begin, end] = t.data_offsets;
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (end > dataLength) throw bad(`tensor '${name}' ends at byte ${end} but the data holds ${dataLength} bytes (truncated?)`);
    if (end - begin !== count * size) throw bad(`tensor '${name}' has ${end - begin} bytes for shape [${t.shape.join(', ')}]`);
    if (begin % size !== 0) throw bad(`tensor '${name}' is not aligned`);
    places[name] = { dtype: t.dtype, shape: t.shape, count, begin: dataStart + begin, end: dataStart + end };
  }
  return { places, metadata, dataStart };
}

export function parseSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafeFile {
  const { places, metadata, dataStart } = parseSafetensorsHeader(bytes, source);
  // Copy the data once into an aligned buffer, so every tensor can be a typed-array view.
  // (Uint8Array's constructor copies; Buffer#slice would return a view into a larger, unaligned buffer.)
  const data = new Uint8Array(bytes.subarray(dataStart)).buffer;
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(places))
    tensors[name] = { dtype: t.dtype, shape: t.shape, data: view(t.dtype, data, t.begin - dataStart, t.count) };
  return { tensors, metadata };
}

export async function readSafetensors(file: string): Promise<SafeFile> {
  return parseSafetensors(await readFileOrThrow(file, 'safetensors file'), file);
}

function dtypeOf(a: SafeArray): SafeDtype {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof BigInt64Array) return 'I64';
  if (a instanceof Int32Array) return 'I32';
  if (a instanceof Int8Array) return 'I8';
  if (a instanceof Uint16Array) return 'F16';
  return 'U8';
}

export function serializeSafetensors(
  tensors: Record<string, { shape: number[]; data: SafeArray; dtype?: SafeDtype }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const pieces = safetensorsPieces(tensors, metadata);
  const out = new Uint8Array(pieces.reduce((a, p) => a + p.length, 0));
  let pos = 0;
  for (const p of pieces) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** A safetensors file as the pieces that follow each other in it (the length and header, then each tensor's data as a
 *  view of its array, nothing copied): for writing and hashing large files without assembling them in memory. */
export function safetensorsPieces(
  tensors: Record<string, { shape: number[]; data: SafeArray; dtype?: SafeDtype }>,
  metadata: Record<string, string> = {},
): Uint8Array[] {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const n of names) {
    const t = tensors[n]!;
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (count !== t.data.length) throw new Error(`tensor '${n}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[n] = { dtype: t.dtype ?? dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference implementation does).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json);
  const start = new Uint8Array(8 + head.length);
  new DataView(start.buffer).setBigUint64(0, BigInt(head.length), true);
  start.set(head, 8);
  return [start, ...names.map((n) => new Uint8Array(tensors[n]!.data.buffer, tensors[n]!.data.byteOffset, tensors[n]!.data.byteLength))];
}

export async function writeSafetensors(
  file: string,
  tensors: Parameters<typeof serializeSafetensors>[0],
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}

/** A tensor as float32 (converting F64 and F16), for numeric comparisons. */
export function asFloat32(t: SafeTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.dtype === 'F16') return fromHalfArray(t.data as Uint16Array);
  return Float32Array.from(t.data as ArrayLike<number>, Number);
}
