// The HTML report of explained images — the one renderer behind `fact explain --html` and the Explain panel's
// Export: one self-contained file (pictures inlined as data: URIs, inline SVG bars, no script, nothing remote) in a
// light and a dark scheme (prefers-color-scheme). One image or several (then with an overall title and an index).
import {
  barGeometry,
  completenessLine,
  conceptBarRows,
  conceptCompletenessLine,
  escapeHtml as e,
  formatNumber,
  formatPercent,
  formatShare,
  formatSig,
} from '../../../common/format';
import type { DecisionReportView, ExplainReportView, StripReportView } from './reportViews';

export interface ReportMeta {
  generatedAt: Date;
  /** "FaCT for VS Code 0.1.0", "fact 0.1.0 (CLI)". */
  tool: string;
  executionProvider?: string;
}

/** One explained image: the plain B-cos explanation, and the same logit through an SAE's concepts when there is one. */
export interface ReportSection {
  explain: ExplainReportView;
  concepts?: { view: DecisionReportView; strips: StripReportView[]; stripsNote?: string };
}

/** Diverging bars as inline SVG: one scale for both signs, zero where the largest negative bar ends. */
function conceptBarsSvg(v: DecisionReportView): string {
  const rows = conceptBarRows(v);
  const maxPos = Math.max(0, ...rows.map((r) => r.contribution));
  const maxNeg = Math.max(0, ...rows.map((r) => -r.contribution));
  const rowH = 22,
    labelW = 150,
    trackW = 420,
    valueW = 170,
    h = rows.length * rowH + 6;
  const bars = rows
    .map((r, i) => {
      const g = barGeometry(r.contribution, maxPos, maxNeg);
      const y = 3 + i * rowH;
      const cls = r.kind === 'other' ? 'rest' : r.contribution >= 0 ? 'pos' : 'neg';
      return (
        `<text x="0" y="${y + 15}">${e(r.label)}</text>` +
        `<rect x="${(labelW + (g.left / 100) * trackW).toFixed(1)}" y="${y + 4}" width="${Math.max(1, (g.width / 100) * trackW).toFixed(1)}" height="13" class="${cls}"><title>${e(r.label)}: ${e(formatSig(r.contribution))} (${e(formatShare(r.share))})</title></rect>` +
        `<text x="${labelW + trackW + 8}" y="${y + 15}" class="val">${e(formatSig(r.contribution))} (${e(formatShare(r.share))})</text>`
      );
    })
    .join('');
  const zeroX = labelW + (barGeometry(0, maxPos, maxNeg).zero / 100) * trackW;
  const w = labelW + trackW + valueW;
  return `<svg class="bars" role="img" aria-label="Concept contributions to the ${e(v.className)} logit" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${bars}<line x1="${zeroX.toFixed(1)}" x2="${zeroX.toFixed(1)}" y1="0" y2="${h}" class="zero"/></svg>`;
}

function topClassesTable(v: ExplainReportView): string {
  const rows = v.top
    .map(
      (t) =>
        `<tr${t.index === v.classIndex ? ' class="explained"' : ''}><td>${e(t.name)}</td><td class="num">${formatNumber(t.logit)}</td><td class="num">${formatPercent(t.probability)}</td><td class="bar-cell"><span class="bar" style="width:${Math.max(1, Math.round(t.probability * 100))}%"></span></td></tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>Class</th><th>Logit</th><th>Probability</th><th class="bar-cell"></th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** Top classes with the SAE in place, beside the model's own logit for each (without the SAE). */
function saeClassesTable(v: DecisionReportView): string {
  const rows = v.top
    .map(
      (t) =>
        `<tr${t.index === v.classIndex ? ' class="explained"' : ''}><td>${e(t.name)}</td><td class="num">${formatNumber(t.logit)}</td><td class="num">${formatPercent(t.probability)}</td><td class="num">${formatNumber(t.modelLogit)}</td></tr>`,
    )
    .join('\n');
  return `<table class="sae-classes"><thead><tr><th>Class</th><th>Logit with the SAE</th><th>Probability</th><th>The model's own logit</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function conceptSection(c: NonNullable<ReportSection['concepts']>, h: (n: number) => string): string {
  const v = c.view;
  const line = conceptCompletenessLine(v);
  const strips = new Map(c.strips.map((s) => [s.concept, s]));
  const top = v.top[0];
  const traces = v.traced
    .map((t) => {
      const s = strips.get(t.concept);
      return `<div class="concept">
  <figure><img class="tile" alt="trace of concept ${t.concept}" src="${t.png}"><figcaption><strong>Concept ${t.concept}</strong>: ${e(formatSig(t.contribution))} (${e(formatShare(t.share))}), presence ${e(formatSig(t.presence))}</figcaption></figure>
  ${s ? `<figure class="strip"><img alt="top images of concept ${t.concept}" src="${s.png}"><figcaption>Top ${s.count} dataset images (inputs above, traces below) · present in ${e(formatPercent(s.frequency))} of images${s.c2 !== null ? ` · C² ${s.c2.toFixed(3)}` : ''}${s.topClass ? ` · mostly ${e(s.topClass)}` : ''}</figcaption></figure>` : ''}
</div>`;
    })
    .join('\n');
  return `
<${h(2)}>Through the SAE's concepts</${h(2)}>
<p class="meta">SAE <code>${e(v.saeName)}</code>${v.layer ? ` on layer <code>${e(v.layer)}</code>` : ''} (<code>${e(v.sae)}</code>) · ${v.active} concepts present · with the SAE the model predicts <strong>${e(top?.name ?? '?')}</strong>${top && top.index !== v.predictedWithoutSae ? ` (without it: ${e(v.predictedWithoutSaeName)})` : ''}</p>
<p class="equation mono">${e(line.equation)}: ${e(line.values)}</p>
<p class="meta">${e(line.error)}</p>
<${h(3)}>Top classes with the SAE</${h(3)}>
${saeClassesTable(v)}
<${h(3)}>Concept contributions to the ${e(v.className)} logit</${h(3)}>
${conceptBarsSvg(v)}
<div class="figures">
  <figure><img class="tile" alt="full logit through the SAE" src="${v.full.png}"><figcaption>The ${e(v.className)} logit through the SAE, all ${v.active} concepts</figcaption></figure>
  <figure><img class="tile" alt="other concepts" src="${v.other.png}"><figcaption>The ${v.other.concepts} other concepts together: ${e(formatSig(v.other.contribution))} (${e(formatShare(v.other.share))})</figcaption></figure>
</div>
<${h(3)}>Top concepts: where they are in this image${c.strips.length ? ', and where they are most present in the data' : ''}</${h(3)}>
${c.stripsNote ? `<p class="meta">${e(c.stripsNote)}</p>\n` : ''}<div class="traces${c.strips.length ? '' : ' tiles-only'}">
${traces}
</div>
`;
}

function section(s: ReportSection, level: number, id?: string): string {
  const v = s.explain;
  const h = (n: number) => `h${Math.min(6, n + level - 1)}`;
  const c = completenessLine(v);
  const predicted = v.top[0];
  return `<section${id ? ` id="${id}"` : ''}>
<${h(1)}>${e(v.imageName)}: ${e(v.className)}</${h(1)}>
<p class="meta">Explained with ${e(v.modelName)} (<code>${e(v.model)}</code>) · image <code>${e(v.image)}</code></p>
<p class="meta">Predicted: <strong>${e(predicted?.name ?? '?')}</strong> (${predicted ? formatPercent(predicted.probability) : '?'}) · explained class: <strong>${e(v.className)}</strong> (index ${v.classIndex}${v.predicted ? ', the predicted class' : ''})</p>

<${h(2)}>B-cos explanation</${h(2)}>
<div class="figures">
  <figure><img alt="input image" src="${v.images.input}"><figcaption>Input (${v.width}×${v.height})</figcaption></figure>
  <figure><img class="on-black" alt="B-cos explanation of ${e(v.className)}" src="${v.images.explanation}"><figcaption>W(x) of the ${e(v.className)} logit as colour, on black (black: no contribution)</figcaption></figure>
  <figure><img alt="signed contribution map" src="${v.images.contributions}"><figcaption>Contributions x·W per pixel: red raises the logit, blue lowers it</figcaption></figure>
</div>

<${h(2)}>Completeness</${h(2)}>
<p class="equation mono">${e(c.equation)}: ${e(c.values)}</p>
<p class="meta">${e(c.error)} · positive contributions sum to ${formatNumber(v.positiveContribution)}</p>
${s.concepts ? conceptSection(s.concepts, h) : ''}
<${h(2)}>Top classes</${h(2)}>
${topClassesTable(v)}
</section>`;
}

const STYLE = `
  :root { color-scheme: light dark; --fg: #1f1f1f; --muted: #5f6368; --bg: #ffffff; --line: #d0d0d0; --accent: #0b6bcb; --pos: #c62828; --neg: #1565c0; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --muted: #a0a0a0; --bg: #1e1e1e; --line: #3c3c3c; --accent: #4da3ff; --pos: #ef6c6c; --neg: #64a8f0; } }
  body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); max-width: 960px; margin: 2em auto; padding: 0 1em; }
  h1 { font-size: 1.5em; margin-bottom: 0.1em; } h2 { font-size: 1.1em; border-bottom: 1px solid var(--line); padding-bottom: 0.2em; margin-top: 1.6em; }
  h3 { font-size: 1em; margin-top: 1.2em; }
  section + section { border-top: 2px solid var(--line); margin-top: 2.5em; padding-top: 1em; }
  .meta { color: var(--muted); margin: 0; } code, .num, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; }
  .figures { display: flex; flex-wrap: wrap; gap: 20px; }
  figure { margin: 0; } figcaption { color: var(--muted); font-size: 0.9em; max-width: 224px; }
  figure img { width: 224px; height: 224px; image-rendering: pixelated; display: block; border: 1px solid var(--line); }
  .on-black, .tile { background: #000; }
  table { border-collapse: collapse; } td, th { padding: 3px 12px 3px 0; text-align: left; border-bottom: 1px solid var(--line); }
  td.num { text-align: right; } tr.explained td { font-weight: 600; }
  .bar { display: inline-block; height: 0.7em; background: var(--accent); min-width: 1px; }
  .bar-cell { width: 160px; }
  .equation { font-size: 1.1em; }
  svg.bars text { font: 12px system-ui, sans-serif; fill: var(--fg); } svg.bars text.val { font-family: ui-monospace, Menlo, Consolas, monospace; }
  svg.bars .pos { fill: var(--pos); } svg.bars .neg { fill: var(--neg); } svg.bars .rest { fill: var(--muted); } svg.bars .zero { stroke: var(--fg); stroke-width: 1; }
  .concept { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; margin: 10px 0; }
  .concept figure img { width: 112px; height: 112px; }
  .concept figure.strip img { width: auto; height: 112px; max-width: 100%; }
  .concept figure.strip figcaption { max-width: none; }
  .traces.tiles-only { display: flex; flex-wrap: wrap; gap: 0 16px; } .traces.tiles-only figcaption { max-width: 112px; }
  nav ol { margin: 0.4em 0; }
`;

/** The page: one section per explained image; with several, an overall title and an index. */
export function renderExplainReport(sections: ReportSection[], meta: ReportMeta): string {
  const one = sections.length === 1 ? sections[0]! : undefined;
  const models = [...new Set(sections.map((s) => s.explain.modelName))];
  const title = one
    ? `FaCT explanation: ${one.explain.imageName} — ${one.explain.className}`
    : `FaCT explanations: ${sections.length} images — ${models.join(', ')}`;
  const body = one
    ? section(one, 1)
    : [
        `<h1>${e(models.join(', '))}: ${sections.length} images explained</h1>`,
        `<nav aria-label="Images"><ol>${sections.map((s, i) => `<li><a href="#image-${i + 1}">${e(s.explain.imageName)}</a>: ${e(s.explain.className)}${s.concepts ? ` (${e(formatShare(s.concepts.view.traced[0]?.share ?? 0))} from concept ${s.concepts.view.traced[0]?.concept ?? '—'})` : ''}</li>`).join('')}</ol></nav>`,
        ...sections.map((s, i) => section(s, 2, `image-${i + 1}`)),
      ].join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="${e(meta.tool)}">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<p class="meta" style="margin-top:2em">Made by ${e(meta.tool)} on ${e(meta.generatedAt.toISOString())}${meta.executionProvider ? ` (execution provider: ${e(meta.executionProvider)})` : ''}. The network is dynamic linear: with its dynamic factors frozen, logit = W(x)·x + bias holds exactly, and the pictures show W(x) and x·W(x). Concept traces are each concept's presence back-propagated to the input in explanation mode, shown on black with one contrast stretch; shares are 100·c_k / Σ max(c, 0).</p>
</body>
</html>
`;
}
