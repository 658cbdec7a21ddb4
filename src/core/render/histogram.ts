// A histogram of C² scores with the random baseline, as SVG (for the HTML report and the editor) and as PNG.
import sharp from 'sharp';
import { C2_RANGE, histogramCounts, markerLabels } from '../../../common/histogram';

/** The C² histogram as a standalone SVG (light background: it is saved as a PNG beside the checkpoint). */
export function histogramSvg(
  values: number[],
  opts: { random?: number; mean?: number; bins?: number; width?: number; height?: number; title?: string } = {},
): string {
  const bins = opts.bins ?? 20;
  const width = opts.width ?? 640;
  const height = opts.height ?? 320;
  const { lo, hi } = C2_RANGE;
  const counts = histogramCounts(values, bins);
  const max = Math.max(1, ...counts);
  const pad = { l: 48, r: 16, t: 32, b: 40 };
  const w = width - pad.l - pad.r,
    h = height - pad.t - pad.b;
  const x = (v: number) => pad.l + ((v - lo) / (hi - lo)) * w;
  const bars = counts
    .map((c, i) => {
      const bh = (c / max) * h;
      return `<rect x="${(pad.l + (i * w) / bins + 1).toFixed(1)}" y="${(pad.t + h - bh).toFixed(1)}" width="${(w / bins - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="#3b82f6"><title>${c} concepts</title></rect>`;
    })
    .join('');
  const colors: Record<string, string> = { random: '#dc2626', mean: '#059669' };
  const markers = (['random', 'mean'] as const).flatMap((k) =>
    opts[k] !== undefined && Number.isFinite(opts[k]) ? [{ key: k, text: `${k} ${opts[k]!.toFixed(3)}`, x: x(opts[k]!) }] : [],
  );
  const labels = markerLabels(markers, pad.l, pad.l + w);
  const lines =
    markers
      .map(
        (m) =>
          `<line x1="${m.x}" x2="${m.x}" y1="${pad.t}" y2="${pad.t + h}" stroke="${colors[m.key]}" stroke-width="2" stroke-dasharray="5 3"/>`,
      )
      .join('') +
    labels
      .map(
        (l) =>
          `<text x="${l.x.toFixed(1)}" y="${pad.t + 12 + 15 * l.row}" text-anchor="${l.anchor}" fill="${colors[l.key]}" font-size="12">${l.text}</text>`,
      )
      .join('');
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1]
    .map((t) => `<text x="${x(t)}" y="${pad.t + h + 16}" text-anchor="middle" font-size="11" fill="#6b7280">${t.toFixed(1)}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${pad.l}" y="20" font-size="14" fill="#111827">${opts.title ?? 'C² consistency of concepts'}</text>
<line x1="${pad.l}" x2="${pad.l + w}" y1="${pad.t + h}" y2="${pad.t + h}" stroke="#9ca3af"/>
${bars}${ticks}${lines}
<text x="${pad.l + w / 2}" y="${height - 6}" text-anchor="middle" font-size="12" fill="#374151">C² score (${values.length} concepts)</text>
<text x="12" y="${pad.t + h / 2}" font-size="12" fill="#374151" transform="rotate(-90 12 ${pad.t + h / 2})" text-anchor="middle">concepts</text>
</svg>`;
}

export async function histogramPng(values: number[], opts: Parameters<typeof histogramSvg>[1] = {}): Promise<Buffer> {
  return sharp(Buffer.from(histogramSvg(values, opts)))
    .png()
    .toBuffer();
}
