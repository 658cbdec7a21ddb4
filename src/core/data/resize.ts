// Antialiased bilinear resampling, the way PIL (and so torchvision's Resize on PIL images) does it: a separable
// triangle filter whose support widens by the scale factor when shrinking, so downscaled images do not alias.
import type { RawImage } from './rawImage';

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  maxTaps: number;
}

function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const support = scale > 1 ? scale : 1; // triangle filter radius 1, stretched when shrinking
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support + 0.5));
    const hi = Math.min(inSize, Math.floor(centre + support + 0.5));
    let total = 0;
    for (let i = lo; i < hi; i++) {
      const w = Math.max(0, 1 - Math.abs((i - centre + 0.5) / support));
      weights[o * maxTaps + (i - lo)] = w;
      total += w;
    }
    const taps = weights.subarray(o * maxTaps, o * maxTaps + (hi - lo));
    taps.set(taps.map((w) => w / (total || 1)));
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, weights, maxTaps };
}

/** Resamples to width×height; values stay floats (0–255) to avoid rounding twice. */
export function resizeBilinear(
  img: { width: number; height: number; channels: number; data: ArrayLike<number> },
  width: number,
  height: number,
): { width: number; height: number; channels: number; data: Float32Array } {
  const { channels: c } = img;
  const tx = taps(img.width, width);
  const ty = taps(img.height, height);
  // Horizontal pass: height_in × width_out.
  const mid = new Float32Array(img.height * width * c);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < width; x++) {
      const s = tx.start[x]!;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < tx.count[x]!; k++) acc += tx.weights[x * tx.maxTaps + k]! * img.data[(y * img.width + s + k) * c + ch]!;
        mid[(y * width + x) * c + ch] = acc;
      }
    }
  }
  const out = new Float32Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const s = ty.start[y]!;
    for (let x = 0; x < width; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < ty.count[y]!; k++) acc += ty.weights[y * ty.maxTaps + k]! * mid[((s + k) * width + x) * c + ch]!;
        out[(y * width + x) * c + ch] = acc;
      }
    }
  }
  return { width, height, channels: c, data: out };
}

export function asFloatImage(img: RawImage): { width: number; height: number; channels: number; data: Float32Array } {
  return { width: img.width, height: img.height, channels: img.channels, data: Float32Array.from(img.data) };
}
