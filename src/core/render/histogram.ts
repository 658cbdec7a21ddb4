// A histogram of C² scores with the random baseline, as SVG (for the HTML report and the editor) and as PNG.
import sharp from 'sharp';

export function histogramSvg(values: number[], opts: { random?: number; mean?: number; bins?: number; width?: number; height?: number; title?: string } = {}): string {
  const bins = opts.bins ?? 20;
  const width = opts.width ?? 640;
  const height = opts.height ?? 320;
  const lo = -0.2, hi = 1;
  const counts = new Array(bins).fill(0);
  for (const v of values) if (Number.isFinite(v)) counts[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)))]++;
  const max = Math.max(1, ...counts);
  const pad = { l: 48, r: 16, t: 32, b: 40 };
  const w = width - pad.l - pad.r, h = height - pad.t - pad.b;
  const x = (v: number) => pad.l + ((v - lo) / (hi - lo)) * w;
  const bars = counts.map((c, i) => {
    const bh = (c / max) * h;
    return `<rect x="${(pad.l + (i * w) / bins + 1).toFixed(1)}" y="${(pad.t + h - bh).toFixed(1)}" width="${(w / bins - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="#3b82f6"><title>${c} concepts</title></rect>`;
  }).join('');
  const line = (v: number | undefined, color: string, label: string) => (v === undefined || !Number.isFinite(v) ? '' :
    `<line x1="${x(v)}" x2="${x(v)}" y1="${pad.t}" y2="${pad.t + h}" stroke="${color}" stroke-width="2" stroke-dasharray="5 3"/><text x="${x(v) + 4}" y="${pad.t + 12}" fill="${color}" font-size="12">${label} ${v.toFixed(3)}</text>`);
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1].map((t) => `<text x="${x(t)}" y="${pad.t + h + 16}" text-anchor="middle" font-size="11" fill="#6b7280">${t.toFixed(1)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${pad.l}" y="20" font-size="14" fill="#111827">${opts.title ?? 'C² consistency of concepts'}</text>
<line x1="${pad.l}" x2="${pad.l + w}" y1="${pad.t + h}" y2="${pad.t + h}" stroke="#9ca3af"/>
${bars}${ticks}${line(opts.random, '#dc2626', 'random')}${line(opts.mean, '#059669', 'mean')}
<text x="${pad.l + w / 2}" y="${height - 6}" text-anchor="middle" font-size="12" fill="#374151">C² score (${values.length} concepts)</text>
<text x="12" y="${pad.t + h / 2}" font-size="12" fill="#374151" transform="rotate(-90 12 ${pad.t + h / 2})" text-anchor="middle">concepts</text>
</svg>`;
}

export async function histogramPng(values: number[], opts: Parameters<typeof histogramSvg>[1] = {}): Promise<Buffer> {
  return sharp(Buffer.from(histogramSvg(values, opts))).png().toBuffer();
}
