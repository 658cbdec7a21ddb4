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
  for (let i = 0, o = at; i < a.length; i++, o++) {
    const x = bits[i]!;
    const e = ((x >>> 23) & 0xff) - 112; // the half's biased exponent
    if (e > 0 && e < 0x1f) {
      // A normal half (nearly every feature value): drop 13 mantissa bits, rounding to nearest even; a carry out of
      // the mantissa correctly bumps the exponent (up to Inf), as in floatToHalf.
      const rest = x & 0x1fff;
      let h = ((x >>> 16) & 0x8000) | (e << 10) | ((x & 0x7fffff) >>> 13);
      if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
      out[o] = h;
    } else {
      out[o] = floatToHalf(a[i]!);
    }
  }
  return out;
}

const table = new Float32Array(65536);
for (let h = 0; h < 65536; h++) table[h] = halfToFloat(h);

export function fromHalfArray(a: Uint16Array, out = new Float32Array(a.length)): Float32Array {
  for (let i = 0; i < a.length; i++) out[i] = table[a[i]!]!;
  return out;
}
