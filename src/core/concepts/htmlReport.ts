// A self-contained HTML report of a decision explained through concepts (`fact explain … --html`): every picture
// is inlined as a data URI, the bar chart is inline SVG, and there are no scripts or remote resources.
import type { DecisionExplanation } from './explainDecision';

export interface ReportImages {
  input: Buffer;
  full: Buffer;
  other: Buffer;
  /** One per traced concept, in the order of `traced`. */
  traces: Buffer[];
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const png = (b: Buffer) => `data:image/png;base64,${b.toString('base64')}`;
const fmt = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2));

/** Horizontal bars for signed contributions: positive to the right (accent), negative to the left. */
export function contributionBars(rows: { label: string; value: number; share: number }[], width = 640): string {
  const rowH = 22;
  const max = Math.max(1e-12, ...rows.map((r) => Math.abs(r.value)));
  const labelW = 130;
  const mid = labelW + (width - labelW - 90) / 2;
  const half = (width - labelW - 90) / 2;
  const bars = rows.map((r, i) => {
    const len = (Math.abs(r.value) / max) * half;
    const x = r.value >= 0 ? mid : mid - len;
    const y = i * rowH;
    return `<g><text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>` +
      `<rect x="${x.toFixed(1)}" y="${y + 4}" width="${Math.max(1, len).toFixed(1)}" height="${rowH - 8}" class="${r.value >= 0 ? 'pos' : 'neg'}"><title>${esc(r.label)}: ${fmt(r.value)} (${r.share.toFixed(1)}%)</title></rect>` +
      `<text x="${width - 84}" y="${y + 15}">${r.share.toFixed(1)}%</text></g>`;
  }).join('');
  return `<svg class="bars" viewBox="0 0 ${width} ${rows.length * rowH}" width="${width}" height="${rows.length * rowH}" role="img" aria-label="Concept contributions"><line x1="${mid}" x2="${mid}" y1="0" y2="${rows.length * rowH}" class="axis"/>${bars}</svg>`;
}

/** One decision as a <section> of a report page. */
export function decisionSectionHtml(d: DecisionExplanation, images: ReportImages, meta: { image: string; model: string; sae: string }): string {
  const bars = contributionBars([
    ...d.traced.map((t) => ({ label: `concept ${t.concept}`, value: t.contribution, share: t.share })),
    ...(d.other.concepts ? [{ label: `${d.other.concepts} other concepts`, value: d.other.contribution, share: d.other.share }] : []),
  ]);
  const tiles = d.traced.map((t, i) => `<figure><img src="${png(images.traces[i]!)}" alt="trace of concept ${t.concept}"><figcaption>concept ${t.concept}<br>${t.share.toFixed(1)}% · c = ${fmt(t.contribution)}</figcaption></figure>`).join('');
  const classes = d.top.map((c) => `<tr${c.index === d.classIndex ? ' class="explained"' : ''}><td>${esc(c.name)}</td><td>${fmt(c.logit)}</td><td>${(100 * c.probability).toFixed(2)}%</td></tr>`).join('');
  const sum = d.concepts.reduce((a, c) => a + c.contribution, 0);
  return `<section>
<h1>${esc(d.className)} <span class="meta">(class ${d.classIndex})</span></h1>
<p class="meta">${esc(meta.image)} · model ${esc(meta.model)} · SAE ${esc(meta.sae)}</p>
<div class="row">
<figure><img src="${png(images.input)}" alt="input"><figcaption>input</figcaption></figure>
<figure><img src="${png(images.full)}" alt="full-logit explanation"><figcaption>full-logit explanation</figcaption></figure>
<figure><img src="${png(images.other)}" alt="other concepts"><figcaption>${d.other.concepts} other concepts (${d.other.share.toFixed(1)}%)</figcaption></figure>
<div><h2 style="margin-top:0">Top classes (with the SAE)</h2><table><tr><th>class</th><th>logit</th><th>p</th></tr>${classes}</table>
<p class="meta">Without the SAE the model predicts ${esc(d.predictedWithoutSaeName)}${d.predictedWithoutSae === d.classIndex ? ' too' : ''}.</p></div>
</div>
<h2>Concept contributions to the ${esc(d.className)} logit</h2>
${bars}
<p class="complete">Σ<sub>k</sub> c<sub>k</sub> + bias = ${fmt(sum)} + ${fmt(d.bias)} = ${fmt(sum + d.bias)} · logit ${fmt(d.logit)} · error ${d.completenessError.toExponential(2)}</p>
<h2>Where each concept is (its presence traced to the input)</h2>
<div class="row">${tiles}</div>
</section>`;
}

/** A self-contained page of one or more decision sections. */
export function reportPage(title: string, sections: string[]): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(title)}</title>
<style>
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --pos: #d1242f; --neg: #0969da; --line: #d0d7de; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --pos: #ff7b72; --neg: #79c0ff; --line: #30363d; } }
body { font: 14px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 28px; }
.meta { color: var(--muted); } .row { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
img { image-rendering: pixelated; width: 168px; height: 168px; background: #000; border-radius: 4px; }
figure { margin: 0; text-align: center; font-size: 12px; } figcaption { color: var(--muted); }
table { border-collapse: collapse; } td, th { padding: 2px 12px 2px 0; text-align: left; } tr.explained td { font-weight: 600; }
.bars text { fill: var(--fg); font-size: 12px; } .bars .pos { fill: var(--pos); } .bars .neg { fill: var(--neg); } .bars .axis { stroke: var(--line); }
.complete { font-family: ui-monospace, monospace; } hr { border: 0; border-top: 1px solid var(--line); margin: 32px 0; }
</style>
</head><body>
${sections.join('\n<hr>\n')}
<p class="meta">Generated by FaCT for VS Code. Traces are B-cos colour maps of the concept's presence Σ u_k back-propagated in explanation mode; shares are 100·c_k / Σ max(c, 0).</p>
</body></html>
`;
}

export function decisionReportHtml(d: DecisionExplanation, images: ReportImages, meta: { image: string; model: string; sae: string }): string {
  return reportPage(`FaCT explanation — ${d.className} — ${meta.image}`, [decisionSectionHtml(d, images, meta)]);
}
