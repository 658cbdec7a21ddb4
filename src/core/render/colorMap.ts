// The B-cos colour image of an explanation (the reference's gradient_to_image): each pixel's colour comes from the
// positive parts of W's channels, normalised per pixel ([x, 1 − x] pairs decide the hue); its opacity is ‖W‖₂,
// zeroed where the pixel's contribution Σ_c x_c·W_c is negative, box-smoothed, and scaled by its 99.5th percentile.
// Grayscale models (2 channels) render in gray.

export interface ColorMapOptions {
  /** Box filter size for the alpha channel (FaCT uses 3; B-cos' default is 15). */
  smooth?: number;
  /** Percentile of alpha that maps to full opacity. */
  alphaPercentile?: number;
}

export interface RgbaImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** `weights` and `input` are C×H×W with C = 2·k (k raw channels followed by their inverses). */
export function explanationToRgba(
  weights: Float32Array,
  input: Float32Array,
  channels: number,
  height: number,
  width: number,
  opts: ColorMapOptions = {},
): RgbaImage {
  const smooth = opts.smooth ?? 3;
  const percentile = opts.alphaPercentile ?? 99.5;
  const k = channels / 2;
  if (!Number.isInteger(k) || (k !== 1 && k !== 3)) throw new Error(`explanations need 2 or 6 channels ([x, 1 − x]); got ${channels}`);
  const plane = height * width;
  const out = new Float32Array(plane * 4);
  const alpha = new Float64Array(plane);
  for (let p = 0; p < plane; p++) {
    let maxAbs = 0;
    let norm = 0;
    let contribution = 0;
    for (let c = 0; c < channels; c++) {
      const w = weights[c * plane + p]!;
      maxAbs = Math.max(maxAbs, Math.abs(w));
      norm += w * w;
      contribution += w * input[c * plane + p]!;
    }
    const scale = maxAbs + 1e-12;
    for (let c = 0; c < k; c++) {
      const pos = Math.max(0, weights[c * plane + p]! / scale);
      const neg = Math.max(0, weights[(c + k) * plane + p]! / scale);
      const v = pos / (pos + neg + 1e-12);
      if (k === 3) out[p * 4 + c] = v;
      else out[p * 4] = out[p * 4 + 1] = out[p * 4 + 2] = v;
    }
    alpha[p] = contribution < 0 ? 1e-12 : Math.sqrt(norm);
  }
  const smoothed = smooth > 1 ? boxFilter(alpha, height, width, smooth) : alpha;
  const q = quantile(smoothed, percentile / 100);
  for (let p = 0; p < plane; p++) out[p * 4 + 3] = Math.min(1, Math.max(0, smoothed[p]! / (q || 1)));
  return { width, height, data: out };
}

/** avg_pool2d(kernel s, stride 1, padding (s − 1)/2) with zero padding counted in the mean (PyTorch's default). */
export function boxFilter(a: Float64Array, height: number, width: number, s: number): Float64Array {
  const pad = Math.floor((s - 1) / 2);
  const out = new Float64Array(height * width);
  const oh = height + 2 * pad - s + 1;
  const ow = width + 2 * pad - s + 1;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let dy = 0; dy < s; dy++) {
        const yy = y - pad + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = 0; dx < s; dx++) {
          const xx = x - pad + dx;
          if (xx >= 0 && xx < width) acc += a[yy * width + xx]!;
        }
      }
      out[y * width + x] = acc / (s * s);
    }
  }
  return out;
}

/** torch.quantile's default (linear interpolation between closest ranks). The two ranks are found by selection
 *  rather than a full sort (it runs twice per rendered trace); the values are the sorted array's, exactly. */
export function quantile(a: ArrayLike<number>, q: number): number {
  const v = Float64Array.from(a);
  if (v.length === 0) return 0;
  if (v.some(Number.isNaN)) return sortedQuantile(v, q);
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(v.length - 1, lo + 1);
  const low = selectInPlace(v, lo);
  // After selection everything right of `lo` is ≥ it: the next rank is their minimum.
  let high = low;
  if (hi > lo) {
    high = Infinity;
    for (let i = lo + 1; i < v.length; i++) if (v[i]! < high) high = v[i]!;
  }
  return low + (high - low) * (pos - lo);
}

function sortedQuantile(v: Float64Array, q: number): number {
  const sorted = v.sort();
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Hoare's selection: reorders `v` so that v[k] holds the k-th smallest value, smaller ones left of it and larger
 *  or equal ones right of it; returns v[k]. */
function selectInPlace(v: Float64Array, k: number): number {
  let left = 0;
  let right = v.length - 1;
  while (right > left) {
    const pivot = v[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (v[i]! < pivot) i++;
      while (v[j]! > pivot) j--;
      if (i <= j) {
        const t = v[i]!;
        v[i] = v[j]!;
        v[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return v[k]!;
}

/** A diverging colour map for signed per-pixel contributions: blue (negative) – white – red (positive). */
export function contributionHeatmap(map: Float32Array, height: number, width: number): RgbaImage {
  let m = 0;
  for (const v of map) m = Math.max(m, Math.abs(v));
  const out = new Float32Array(height * width * 4);
  for (let p = 0; p < height * width; p++) {
    const t = m > 0 ? map[p]! / m : 0;
    out[p * 4] = t >= 0 ? 1 : 1 + t;
    out[p * 4 + 1] = 1 - Math.abs(t);
    out[p * 4 + 2] = t <= 0 ? 1 : 1 - t;
    out[p * 4 + 3] = 1;
  }
  return { width, height, data: out };
}

/**
 * A concept trace as a tile on black, with one contrast stretch for every place that shows traces (the Explain
 * panel, the HTML report, the atlas strips): the colour is composited on black by its opacity, then scaled so that
 * the 99th percentile of the lit pixels' brightest channel is 1 (brighter ones clip). A grayscale model's traces are
 * mid-gray by construction (x and 1 − x weigh in about equally) and the opacity peaks at a few pixels, which made
 * the tiles dim without it. Opaque; the hue is kept (one scale for all channels).
 */
export function traceOnBlack(img: RgbaImage, percentile = 99): RgbaImage {
  const out = new Float32Array(img.data.length);
  const lit: number[] = [];
  for (let p = 0; p < img.data.length; p += 4) {
    const a = img.data[p + 3]!;
    let brightest = 0;
    for (let c = 0; c < 3; c++) {
      const v = img.data[p + c]! * a;
      out[p + c] = v;
      brightest = Math.max(brightest, v);
    }
    if (brightest > 0) lit.push(brightest);
    out[p + 3] = 1;
  }
  const q = quantile(lit, percentile / 100);
  if (q > 0) for (let p = 0; p < out.length; p += 4) for (let c = 0; c < 3; c++) out[p + c] = Math.min(1, out[p + c]! / q);
  return { width: img.width, height: img.height, data: out };
}
