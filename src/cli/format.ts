// Plain-text rendering of core results for the terminal.
import type { ModelInspection } from '../core/model/inspectModel';
import type { CheckReport } from '../core/engine/checkModel';
import type { FeatureManifest } from '../core/features/manifest';
import type { ExplainResult, ImagePrediction } from '../core/jobs/methods';
import { formatShape } from '../core/onnx/inspect';

export function formatInspection(r: ModelInspection, all: boolean): string {
  const lines: string[] = [];
  lines.push(`${r.name}  (${r.file})`);
  lines.push(`  sha256     ${r.sha256}`);
  lines.push(`  producer   ${r.summary.producer || 'unknown'}, opset ${r.summary.opset}, ${r.summary.nodeCount} nodes, ${r.summary.parameterCount.toLocaleString('en-US')} parameters`);
  lines.push(`  card       ${r.hasCard ? 'card.json found' : 'none (preprocessing inferred from the input shape)'}`);
  lines.push('Inputs');
  for (const t of r.summary.inputs) lines.push(`  ${t.name}  ${t.dtype} ${formatShape(t.shape)}${t.name === r.imageInput.name ? `  ← image (${r.imageInput.colorSpace}, ${r.imageInput.encoding === 'encoded' ? 'B-cos [x, 1−x] encoded' : 'raw'})` : ''}`);
  lines.push('Outputs');
  for (const t of r.summary.outputs) lines.push(`  ${t.name}  ${t.dtype} ${formatShape(t.shape)}`);
  const layers = all ? r.layers : r.layers.filter((l) => l.depth > 0 || r.layers.every((x) => x.depth === 0));
  lines.push(`Candidate layers for an SAE${all ? '' : ' (named blocks; --all for every boundary tensor)'}`);
  const width = Math.max(8, ...layers.map((l) => l.label.length));
  for (const l of layers) {
    const rec = r.recommendedLayers.includes(l.label) ? '  (card)' : '';
    const alias = l.aliases.length ? `  also ${l.aliases.join(', ')}` : '';
    lines.push(`  ${l.label.padEnd(width)}  ${formatShape(l.shape).padEnd(16)} tensor ${l.tensor}${alias}${rec}`);
  }
  if (layers.length === 0) lines.push('  (none)');
  return lines.join('\n');
}

export function formatPredictions(results: ImagePrediction[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(r.image);
    if (r.error) { lines.push(`  error: ${r.error}`); continue; }
    for (const [k, c] of r.prediction!.top.entries()) {
      lines.push(`  ${k + 1}. ${c.name.padEnd(16)} logit ${c.logit.toFixed(4).padStart(9)}   p ${(100 * c.probability).toFixed(2).padStart(6)}%`);
    }
  }
  return lines.join('\n');
}

const num = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2));

export function formatExplanation(r: ExplainResult): string {
  const e = r.explanation;
  const lines = [`${r.image}`];
  for (const [k, c] of e.top.entries()) lines.push(`  ${k + 1}. ${c.name.padEnd(16)} logit ${c.logit.toFixed(4).padStart(9)}   p ${(100 * c.probability).toFixed(2).padStart(6)}%`);
  lines.push(`Explained class: ${e.className} (${e.classIndex})`);
  lines.push(`  logit                 ${num(e.logit)}`);
  lines.push(`  Σ x·W(x) (pixels)     ${num(e.contributionSum)}`);
  lines.push(`  bias                  ${num(e.bias)}`);
  lines.push(`  completeness          Σ x·W + bias − logit = ${e.completenessError.toExponential(2)}`);
  for (const f of r.files) lines.push(`  wrote ${f}`);
  return lines.join('\n');
}

export function formatCheck(r: CheckReport): string {
  if (!r.dynamicLinear) return `${r.file}: NOT dynamic-linear.\n  ${r.reason}`;
  return [
    `${r.file}: dynamic-linear ✓`,
    `  explained input        ${r.explainedInput}${r.explainedInputInGraph ? ' (the [x, 1 − x] encoding inside the graph)' : ''}`,
    `  linear path            ${r.pathLength} nodes, ${r.frozenFactors} dynamic factors and selections frozen`,
    `  bias terms             ${r.biasNodes!.length ? r.biasNodes!.join(', ') : 'none'}`,
    `  worst completeness     ${r.worstCompletenessAbs!.toExponential(2)} absolute, ${r.worstCompletenessRel!.toExponential(2)} relative (${r.imagesTested} images × ${r.classesTested} classes)`,
  ].join('\n');
}

export function formatManifest(m: FeatureManifest, dir: string): string {
  const bytes = m.vectors * (m.dim * (m.dtype === 'float16' ? 2 : 4) + 8);
  const lines = [
    `Feature store ${dir}: ${m.complete ? 'complete' : 'partial'}`,
    `  model         ${m.model.file} (sha256 ${m.model.sha256.slice(0, 12)}…)`,
    `  layer         ${m.layer.name} [${m.layer.shape.join(', ')}], ${m.dim}-dimensional vectors, ${m.dtype}`,
    `  data          ${m.imagesDone}/${m.dataset.images} images of ${m.dataset.source}, ${m.samplesPerImage} locations each`,
    `  stored        ${m.vectors} vectors in ${m.shards.length} shards, ${(bytes / 1e6).toFixed(1)} MB`,
  ];
  if (m.skipped.length) {
    lines.push(`  skipped       ${m.skipped.length} images that did not decode:`);
    for (const s of m.skipped) lines.push(`    ${s.id}: ${s.reason}`);
  }
  return lines.join('\n');
}
