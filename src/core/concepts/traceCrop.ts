// A crop around where a trace's mass is: the smallest square box holding a given share of the positive
// contribution map Σ_c x_c·trace_c, grown by a margin, clamped to the image.
export interface Crop {
  x: number;
  y: number;
  size: number;
}

export function cropAroundMass(map: ArrayLike<number>, side: number, share = 0.9, margin = 0.15): Crop {
  // Lit pixels, brightest first (ties in pixel order), as indices: no object per pixel.
  const value = new Float64Array(side * side);
  const lit: number[] = [];
  let total = 0;
  for (let p = 0; p < side * side; p++) {
    const v = Math.max(0, map[p]!);
    value[p] = v;
    if (v > 0) {
      lit.push(p);
      total += v;
    }
  }
  if (total <= 0) return { x: 0, y: 0, size: side };
  const order = Uint32Array.from(lit).sort((a, b) => value[b]! - value[a]! || a - b);
  let acc = 0,
    x0 = side,
    y0 = side,
    x1 = -1,
    y1 = -1;
  for (const p of order) {
    const x = p % side,
      y = Math.floor(p / side);
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
    acc += value[p]!;
    if (acc >= share * total) break;
  }
  const size = Math.min(side, Math.max(x1 - x0 + 1, y1 - y0 + 1, Math.ceil(side / 8)) + 2 * Math.round(margin * side));
  const cx = (x0 + x1 + 1) / 2,
    cy = (y0 + y1 + 1) / 2;
  const clamp = (v: number) => Math.min(side - size, Math.max(0, Math.round(v - size / 2)));
  return { x: clamp(cx), y: clamp(cy), size };
}
