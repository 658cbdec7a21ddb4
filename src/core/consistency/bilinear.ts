// Bilinear upsampling (PyTorch's F.interpolate, mode 'bilinear', align_corners=False) as separable interpolation
// weights. Because the map is linear and each output pixel's weights sum to 1, a weighted average of upsampled
// features, Σ_p a_p·(U f)_p / Σ_p a_p, equals Σ_q f_q·(Uᵀa)_q / Σ_p a_p: the weights are pulled down to the
// feature grid instead of pushing 384-channel features up to image size.

export interface Taps1D {
  lo: Int32Array;
  hi: Int32Array;
  wHi: Float64Array;
}

export function bilinearTaps(inSize: number, outSize: number): Taps1D {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const wHi = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const l = Math.min(Math.floor(src), inSize - 1);
    lo[o] = l;
    hi[o] = Math.min(l + 1, inSize - 1);
    wHi[o] = src - l;
  }
  return { lo, hi, wHi };
}

/** Uᵀa: image-sized weights a (H×W) pulled back onto the h×w feature grid. */
export function pullBack(a: ArrayLike<number>, height: number, width: number, h: number, w: number): Float64Array {
  const ty = bilinearTaps(h, height);
  const tx = bilinearTaps(w, width);
  const out = new Float64Array(h * w);
  for (let y = 0; y < height; y++) {
    const y0 = ty.lo[y]!,
      y1 = ty.hi[y]!,
      wy = ty.wHi[y]!;
    for (let x = 0; x < width; x++) {
      const v = a[y * width + x]!;
      if (v === 0) continue;
      const x0 = tx.lo[x]!,
        x1 = tx.hi[x]!,
        wx = tx.wHi[x]!;
      out[y0 * w + x0]! += v * (1 - wy) * (1 - wx);
      out[y0 * w + x1]! += v * (1 - wy) * wx;
      out[y1 * w + x0]! += v * wy * (1 - wx);
      out[y1 * w + x1]! += v * wy * wx;
    }
  }
  return out;
}

/** U f for one channel (used by tests and by anyone who wants the upsampled map itself). */
export function upsample(f: ArrayLike<number>, h: number, w: number, height: number, width: number): Float64Array {
  const ty = bilinearTaps(h, height);
  const tx = bilinearTaps(w, width);
  const out = new Float64Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = f[ty.lo[y]! * w + tx.lo[x]!]!,
        b = f[ty.lo[y]! * w + tx.hi[x]!]!;
      const c = f[ty.hi[y]! * w + tx.lo[x]!]!,
        d = f[ty.hi[y]! * w + tx.hi[x]!]!;
      const wy = ty.wHi[y]!,
        wx = tx.wHi[x]!;
      out[y * width + x] = (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * c + wx * d);
    }
  }
  return out;
}
