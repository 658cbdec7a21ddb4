// The explain panel's export: one self-contained HTML file (pictures inlined as data: URIs, no script, nothing
// remote) that reads the same as the panel, in a light and a dark scheme. No `vscode` import.
import type { ExplainView } from '../../../webview/shared/protocol';
import { completenessLine, escapeHtml, formatNumber, formatPercent } from '../../../webview/shared/format';

export interface ReportMeta {
  generatedAt: Date;
  tool: string;
  executionProvider?: string;
}

export function renderExplainReport(v: ExplainView, meta: ReportMeta): string {
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
