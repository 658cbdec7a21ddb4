// The explain panel's export: one self-contained HTML file (pictures inlined as data: URIs, no script, nothing
// remote) that reads the same as the panel, in a light and a dark scheme. No `vscode` import.
import type { ConceptDecisionView, ConceptStripView, ExplainView } from '../../../webview/shared/protocol';
import { barGeometry, completenessLine, conceptBarRows, conceptCompletenessLine, escapeHtml, formatNumber, formatPercent, formatShare, formatSig } from '../../../webview/shared/format';

export interface ReportMeta {
  generatedAt: Date;
  tool: string;
  executionProvider?: string;
}

/** The concept section: the decision through the SAE (`view`) and the traced concepts' top dataset images. */
export interface ReportConcepts { view: ConceptDecisionView; strips: ConceptStripView[] }

/** Diverging bars as inline SVG (the report allows no script and no remote anything; SVG needs neither). */
function conceptBarsSvg(c: ConceptDecisionView): string {
  const rows = conceptBarRows(c);
  const maxPos = Math.max(0, ...rows.map((r) => r.contribution));
  const maxNeg = Math.max(0, ...rows.map((r) => -r.contribution));
  const rowH = 22, labelW = 150, trackW = 420, valueW = 170, h = rows.length * rowH + 6;
  const e = escapeHtml;
  const bars = rows.map((r, i) => {
    const g = barGeometry(r.contribution, maxPos, maxNeg);
    const y = 3 + i * rowH;
    const fill = r.kind === 'other' ? 'var(--muted)' : r.contribution >= 0 ? 'var(--pos)' : 'var(--neg)';
    return `<text x="0" y="${y + 15}" class="lbl">${e(r.label)}</text>`
      + `<rect x="${(labelW + (g.left / 100) * trackW).toFixed(1)}" y="${y + 4}" width="${Math.max(1, (g.width / 100) * trackW).toFixed(1)}" height="13" style="fill:${fill}"/>`
      + `<text x="${labelW + trackW + 8}" y="${y + 15}" class="val">${e(formatSig(r.contribution))} (${e(formatShare(r.share))})</text>`;
  }).join('');
  const zeroX = labelW + (barGeometry(0, maxPos, maxNeg).zero / 100) * trackW;
  return `<svg class="bars" role="img" aria-label="Concept contributions" width="${labelW + trackW + valueW}" height="${h}" viewBox="0 0 ${labelW + trackW + valueW} ${h}">${bars}<line x1="${zeroX.toFixed(1)}" x2="${zeroX.toFixed(1)}" y1="0" y2="${h}" style="stroke:var(--fg);stroke-width:1"/></svg>`;
}

function conceptSection(c: ReportConcepts): string {
  const v = c.view;
  const e = escapeHtml;
  const line = conceptCompletenessLine(v);
  const strips = new Map(c.strips.map((s) => [s.concept, s]));
  const traces = v.traced.map((t) => {
    const s = strips.get(t.concept);
    return `<div class="concept">
  <figure><img class="on-black" alt="trace of concept ${t.concept}" src="${t.png}"><figcaption><strong>Concept ${t.concept}</strong>: ${e(formatSig(t.contribution))} (${e(formatShare(t.share))}), presence ${e(formatSig(t.presence))}</figcaption></figure>
  ${s ? `<figure class="strip"><img alt="top images of concept ${t.concept}" src="${s.png}"><figcaption>Top ${s.count} dataset images (inputs above, traces below) · present in ${e(formatPercent(s.frequency))} of images${s.c2 !== null ? ` · C² ${s.c2.toFixed(3)}` : ''}${s.topClass ? ` · mostly ${e(s.topClass)}` : ''}</figcaption></figure>` : ''}
</div>`;
  }).join('\n');
  return `
<h2>Through the SAE's concepts</h2>
<p class="meta">SAE <code>${e(v.saeName)}</code> on layer <code>${e(v.layer)}</code> (<code>${e(v.sae)}</code>) · ${v.active} concepts present · with the SAE the model predicts <strong>${e(v.top[0]?.name ?? '?')}</strong>${v.top[0]?.index !== v.predictedWithoutSae ? ` (without it: ${e(v.predictedWithoutSaeName)})` : ''}</p>
<p class="equation mono">${e(line.equation)}: ${e(line.values)}</p>
<p class="meta">${e(line.error)}</p>
<h3>Concept contributions to the ${e(v.className)} logit</h3>
${conceptBarsSvg(v)}
<div class="figures">
  <figure><img class="on-black" alt="full logit through the SAE" src="${v.full.png}"><figcaption>The ${e(v.className)} logit through the SAE, all concepts (Σ x·trace ${e(formatNumber(v.full.contributionMapSum, 3))})</figcaption></figure>
  <figure><img class="on-black" alt="other concepts" src="${v.other.png}"><figcaption>The ${v.other.concepts} other concepts together: ${e(formatSig(v.other.contribution))} (${e(formatShare(v.other.share))})</figcaption></figure>
</div>
<h3>Top concepts: where they are in this image, and where they are most present in the data</h3>
${traces}
`;
}

export function renderExplainReport(v: ExplainView, meta: ReportMeta, concepts?: ReportConcepts): string {
  const e = escapeHtml;
  const c = completenessLine(v);
  const rows = v.top.map((t) => `<tr${t.index === v.classIndex ? ' class="explained"' : ''}><td>${e(t.name)}</td><td class="num">${formatNumber(t.logit)}</td><td class="num">${formatPercent(t.probability)}</td><td><span class="bar" style="width:${Math.max(1, Math.round(t.probability * 100))}%"></span></td></tr>`).join('\n');
  const predicted = v.top[0];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="${e(meta.tool)}">
<title>FaCT explanation: ${e(v.imageName)} — ${e(v.className)}</title>
<style>
  :root { color-scheme: light dark; --fg: #1f1f1f; --muted: #5f6368; --bg: #ffffff; --line: #d0d0d0; --accent: #0b6bcb; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --muted: #a0a0a0; --bg: #1e1e1e; --line: #3c3c3c; --accent: #4da3ff; } }
  body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); max-width: 960px; margin: 2em auto; padding: 0 1em; }
  h1 { font-size: 1.5em; margin-bottom: 0.1em; } h2 { font-size: 1.1em; border-bottom: 1px solid var(--line); padding-bottom: 0.2em; margin-top: 1.6em; }
  .meta { color: var(--muted); margin: 0; } code, .num, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; }
  .figures { display: flex; flex-wrap: wrap; gap: 20px; }
  figure { margin: 0; } figcaption { color: var(--muted); font-size: 0.9em; max-width: 224px; }
  figure img { width: 224px; height: 224px; image-rendering: pixelated; display: block; border: 1px solid var(--line); }
  .on-black { background: #000; }
  table { border-collapse: collapse; } td, th { padding: 3px 12px 3px 0; text-align: left; border-bottom: 1px solid var(--line); }
  td.num { text-align: right; } tr.explained td { font-weight: 600; }
  .bar { display: inline-block; height: 0.7em; background: var(--accent); min-width: 1px; }
  .bar-cell { width: 160px; }
  .equation { font-size: 1.1em; }
  h3 { font-size: 1em; margin-top: 1.2em; }
  :root { --pos: #c62828; --neg: #1565c0; } @media (prefers-color-scheme: dark) { :root { --pos: #ef6c6c; --neg: #64a8f0; } }
  svg.bars text { font: 12px system-ui, sans-serif; fill: var(--fg); } svg.bars text.val { font-family: ui-monospace, Menlo, Consolas, monospace; }
  .concept { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; margin: 10px 0; }
  .concept figure img { width: 112px; height: 112px; }
  .concept figure.strip img { width: auto; height: 112px; max-width: 100%; }
  .concept figure.strip figcaption { max-width: none; }
</style>
</head>
<body>
<h1>${e(v.imageName)}: ${e(v.className)}</h1>
<p class="meta">Explained with ${e(v.modelName)} (<code>${e(v.model)}</code>) · image <code>${e(v.image)}</code></p>
<p class="meta">Predicted: <strong>${e(predicted?.name ?? '?')}</strong> (${predicted ? formatPercent(predicted.probability) : '?'}) · explained class: <strong>${e(v.className)}</strong> (index ${v.classIndex}${v.predicted ? ', the predicted class' : ''})</p>

<h2>B-cos explanation</h2>
<div class="figures">
  <figure><img alt="input image" src="${v.images.input}"><figcaption>Input (${v.width}×${v.height})</figcaption></figure>
  <figure><img class="on-black" alt="B-cos explanation of ${e(v.className)}" src="${v.images.explanation}"><figcaption>W(x) of the ${e(v.className)} logit as colour, on black (black: no contribution)</figcaption></figure>
  <figure><img alt="signed contribution map" src="${v.images.contributions}"><figcaption>Contributions x·W per pixel: red raises the logit, blue lowers it</figcaption></figure>
</div>

<h2>Completeness</h2>
<p class="equation mono">${e(c.equation)}: ${e(c.values)}</p>
<p class="meta">${e(c.error)} · positive contributions sum to ${formatNumber(v.positiveContribution)}</p>

${concepts ? conceptSection(concepts) : ''}
<h2>Top classes</h2>
<table>
<thead><tr><th>Class</th><th>Logit</th><th>Probability</th><th class="bar-cell"></th></tr></thead>
<tbody>
${rows}
</tbody>
</table>

<p class="meta" style="margin-top:2em">Made by ${e(meta.tool)} on ${e(meta.generatedAt.toISOString())}${meta.executionProvider ? ` (execution provider: ${e(meta.executionProvider)})` : ''}. The network is dynamic linear: with its dynamic factors frozen, logit = W(x)·x + bias holds exactly, and the pictures show W(x) and x·W(x).</p>
</body>
</html>
`;
}
