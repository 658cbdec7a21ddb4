// The C² histogram's geometry, shared by the PNG the core writes beside a checkpoint and the consistency panel's
// inline SVG (which draws it in the theme's colours): the bins, and where the labels of the marker lines go so
// that they never overlap. Neutral: no imports.

/** C² scores live in [−0.2, 1] in practice; values outside go to the end bins. */
export const C2_RANGE = { lo: -0.2, hi: 1 } as const;

export function histogramCounts(values: number[], bins = 20, lo: number = C2_RANGE.lo, hi: number = C2_RANGE.hi): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) if (Number.isFinite(v)) counts[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)))]!++;
  return counts;
}

export interface MarkerLabel {
  key: string;
  text: string;
  x: number;
  anchor: 'start' | 'end';
  row: number;
}

/**
 * Labels for vertical marker lines at `x` (pixels), kept inside [left, right]: each goes beside its line, on the
 * side where it crosses no other marker line (right first); a label that would still overlap another one moves down
 * a row.
 */
export function markerLabels(
  markers: { key: string; text: string; x: number }[],
  left: number,
  right: number,
  charWidth = 6.6,
  gap = 5,
): MarkerLabel[] {
  const rows: [number, number][][] = [];
  return markers.map((m) => {
    const w = m.text.length * charWidth;
    const sides = [
      { anchor: 'start' as const, from: m.x + gap },
      { anchor: 'end' as const, from: m.x - gap - w },
    ].filter((c) => c.from >= left && c.from + w <= right);
    const crosses = (from: number) => markers.some((o) => o !== m && o.x > from - gap && o.x < from + w + gap);
    const side = sides.find((c) => !crosses(c.from)) ?? sides[0] ?? { anchor: 'start' as const, from: m.x + gap };
    const span: [number, number] = [side.from - gap, side.from + w + gap];
    let row = 0;
    while ((rows[row] ?? []).some(([a, b]) => a < span[1] && span[0] < b)) row++;
    (rows[row] ??= []).push(span);
    return { key: m.key, text: m.text, x: side.anchor === 'start' ? m.x + gap : m.x - gap, anchor: side.anchor, row };
  });
}
