// IEEE half precision, for feature shards stored at 16 bits (round to nearest even, as numpy's astype does).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export function toHalfArray(a: Float32Array): Uint16Array {
  return toHalfInto(a, new Uint16Array(a.length), 0);
}

/** Writes `a` as halves into `out` from index `at` (no intermediate array); returns `out`. */
export function toHalfInto(a: Float32Array, out: Uint16Array, at: number): Uint16Array {
  const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < a.length; i++) out[at + i] = halfOfBits(bits[i]!);
  return out;
}

/** Gathers vectors of `dim` values from a feature map and writes them as halves into `out` from index `at`: value c
 *  of vector r is `map[offset + rows[r]·pStride + c·cStride]` (the transpose and the conversion in one pass). */
export function gatherHalfInto(
  map: Float32Array,
  offset: number,
  cStride: number,
  pStride: number,
  rows: readonly number[],
  dim: number,
  out: Uint16Array,
  at: number,
): void {
  const bits = new Uint32Array(map.buffer, map.byteOffset, map.length);
  for (let r = 0, o = at; r < rows.length; r++) {
    for (let c = 0, i = offset + rows[r]! * pStride; c < dim; c++, i += cStride, o++) out[o] = halfOfBits(bits[i]!);
  }
}

/** The half of a float32 given by its bits. A normal half (nearly every feature value) is computed without a branch
 *  on the rounding: the exponent rebiased in place (−112 << 23), then 0xfff plus the kept mantissa's lowest bit added
 *  before dropping 13 bits rounds to nearest even, and a carry out of the mantissa bumps the exponent (up to Inf at
 *  the top of the range); the rest (subnormal, zero, overflow, Inf, NaN) goes through floatToHalf. */
function halfOfBits(x: number): number {
  const m = x & 0x7fffffff;
  if (m >= 0x38800000 && m < 0x477ff000) return ((x >>> 16) & 0x8000) | ((m - 0x38000000 + 0xfff + ((m >>> 13) & 1)) >>> 13);
  u32[0] = x;
  return floatToHalf(f32[0]!);
}

const table = new Float32Array(65536);
for (let h = 0; h < 65536; h++) table[h] = halfToFloat(h);

export function fromHalfArray(a: Uint16Array, out = new Float32Array(a.length)): Float32Array {
  for (let i = 0; i < a.length; i++) out[i] = table[a[i]!]!;
  return out;
}
