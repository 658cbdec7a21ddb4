// Plain-text rendering of core results for the terminal.
import type { ProviderProbe } from '../core/onnx/devices';
import type { ModelInspection } from '../core/model/inspectModel';
import type { CheckReport } from '../core/engine/checkModel';
import type { FeatureManifest } from '../core/features/manifest';
import type { StoreVerification } from '../core/features/verifyStore';
import type { ExplainResult, ImagePrediction } from '../core/jobs/methods';
import type { DecisionResult, SaeMethods } from '../core/jobs/saeMethods';
import type { EvaluationSummary } from '../core/sae/saeFolder';
import type { ConsistencyReport } from '../core/consistency/measureConsistency';
import type { AtlasConcept } from '../core/concepts/atlas';
import { formatShape } from '../core/onnx/inspect';
import { completenessLine, conceptCompletenessLine } from '../../common/format';

export function formatInspection(r: ModelInspection, all: boolean): string {
  const lines: string[] = [];
  lines.push(`${r.name}  (${r.file})`);
  lines.push(`  sha256     ${r.sha256}`);
  lines.push(
    `  producer   ${r.summary.producer || 'unknown'}, opset ${r.summary.opset}, ${r.summary.nodeCount} nodes, ${r.summary.parameterCount.toLocaleString('en-US')} parameters`,
  );
  lines.push(`  card       ${r.hasCard ? 'card.json found' : 'none (preprocessing inferred from the input shape)'}`);
  lines.push('Inputs');
  for (const t of r.summary.inputs)
    lines.push(
      `  ${t.name}  ${t.dtype} ${formatShape(t.shape)}${t.name === r.imageInput.name ? `  ← image (${r.imageInput.colorSpace}, ${r.imageInput.encoding === 'encoded' ? 'B-cos [x, 1−x] encoded' : 'raw'})` : ''}`,
    );
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
    if (r.error) {
      lines.push(`  error: ${r.error}`);
      continue;
    }
    for (const [k, c] of r.prediction!.top.entries()) {
      lines.push(
        `  ${k + 1}. ${c.name.padEnd(16)} logit ${c.logit.toFixed(4).padStart(9)}   p ${(100 * c.probability).toFixed(2).padStart(6)}%`,
      );
    }
  }
  return lines.join('\n');
}

const num = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2));

export function formatExplanation(r: ExplainResult): string {
  const e = r.explanation;
  const lines = [`${r.image}`];
  for (const [k, c] of e.top.entries())
    lines.push(
      `  ${k + 1}. ${c.name.padEnd(16)} logit ${c.logit.toFixed(4).padStart(9)}   p ${(100 * c.probability).toFixed(2).padStart(6)}%`,
    );
  lines.push(`Explained class: ${e.className} (${e.classIndex})`);
  lines.push(`  logit                 ${num(e.logit)}`);
  lines.push(`  Σ x·W(x) (pixels)     ${num(e.contributionSum)}`);
  lines.push(`  bias                  ${num(e.bias)}`);
  lines.push(`  completeness          Σ x·W + bias − logit = ${e.completenessError.toExponential(2)}`);
  lines.push(`                        ${completenessLine(e).values}`);
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

export function formatVerification(r: StoreVerification): string {
  const rate = r.seconds > 0 ? `, ${(r.bytes / 1e9 / r.seconds).toFixed(2)} GB/s` : '';
  const head = `Feature store ${r.store}: ${r.good} of ${r.shards} shards match their checksums (${(r.bytes / 1e9).toFixed(2)} GB hashed in ${r.seconds.toFixed(1)} s${rate}).`;
  return [
    head,
    ...r.damaged.map((d) => `  ${d.problem}`),
    ...(r.damaged.length ? ['Train without them with `fact train … --skip-damaged`, or collect again.'] : []),
  ].join('\n');
}

/** A result without its base64 PNGs (they are for the editor; the CLI writes files instead). */
export function stripPngs<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (k, v) => (k === 'png' || (k === 'input' && typeof v === 'string' && v.length > 200) ? undefined : v)),
  );
}

export function formatDecision(r: DecisionResult): string {
  const e = r.explanation;
  const lines = [`${r.image}`, `  top classes with the SAE (and the model's own logit, without it)`];
  for (const [k, c] of e.top.entries())
    lines.push(
      `  ${k + 1}. ${c.name.padEnd(16)} logit ${c.logit.toFixed(4).padStart(9)}   p ${(100 * c.probability).toFixed(2).padStart(6)}%   model's own logit ${c.modelLogit.toFixed(4).padStart(9)}`,
    );
  lines.push(`Explained class: ${e.className} (${e.classIndex}) with the SAE of ${r.sae}`);
  // Two shares: of the positive contributions, and of the logit (how FaCT's figures count).
  lines.push(
    `  ${'concept'.padEnd(10)} ${'contribution'.padStart(12)} ${'share'.padStart(8)} ${'of logit'.padStart(9)} ${'presence'.padStart(10)}`,
  );
  for (const t of e.traced)
    lines.push(
      `  ${String(t.concept).padEnd(10)} ${num(t.contribution).padStart(12)} ${`${t.share.toFixed(1)}%`.padStart(8)} ${`${t.shareOfLogit.toFixed(1)}%`.padStart(9)} ${num(t.presence).padStart(10)}`,
    );
  if (e.other.concepts)
    lines.push(
      `  ${`${e.other.concepts} others`.padEnd(10)} ${num(e.other.contribution).padStart(12)} ${`${e.other.share.toFixed(1)}%`.padStart(8)} ${`${e.other.shareOfLogit.toFixed(1)}%`.padStart(9)}`,
    );
  lines.push("  share: of Σ max(c_k, 0); of logit: c_k / logit (the paper's figures)");
  const sum = e.concepts.reduce((a, c) => a + c.contribution, 0);
  const line = conceptCompletenessLine({ conceptSum: sum, bias: e.bias, logit: e.logit, completenessError: e.completenessError });
  lines.push(`  completeness   ${line.equation}: ${line.values}; ${line.error}`);
  if (r.html) lines.push(`  wrote ${r.html}`);
  return lines.join('\n');
}

export function formatTraining(r: SaeMethods['train']['result'], dir: string): string {
  const c = r.checkpoint;
  return [
    `SAE checkpoint ${dir}: k ${c.k}, ${c.dictSize} concepts on ${c.layer} (${c.dModel}-dimensional)`,
    `  ${r.steps} steps in ${r.seconds.toFixed(1)} s on ${r.executionProvider}${r.resumed ? ' (resumed)' : ''}${r.fallbackReason ? ` — ${r.fallbackReason}` : ''}`,
    `  ${r.threads} intra-op thread${r.threads === 1 ? '' : 's'}, onnxruntime ${c.training?.onnxruntime ?? '?'} (same seed and threads: same weights)`,
    ...(r.best ? [`  kept epoch ${r.best.epoch} (validation score ${(100 * r.best.score).toFixed(2)}%; ${c.validation?.rule ?? ''})`] : []),
    ...Object.entries(c.metrics ?? {}).map(([k, v]) => `  ${k.padEnd(22)} ${num(v)}`),
  ].join('\n');
}

export function formatEvaluation(r: EvaluationSummary): string {
  const m = r.metrics;
  return [
    `Evaluation on ${m.images} images of ${r.datasetSource}`,
    `  accuracy               ${(100 * m.accuracy).toFixed(2)}% without the SAE, ${(100 * m.accuracyWithSae).toFixed(2)}% with it`,
    `  image L0               ${m.imageL0.toFixed(1)} concepts present per image`,
    `  80% coverage L0        ${m.coverageL0.toFixed(1)} concepts`,
    `  reconstruction         FVU ${m.fvu.toFixed(4)}; ${(100 * m.relativeSquaredError).toFixed(2)}% of the energy lost; mean relative L2 error ${m.relativeL2Error.toFixed(4)}`,
    `  alive concepts         ${m.alive} (${m.alivePercentage.toFixed(1)}%), ${m.alwaysActive} always active`,
    `  completeness           worst relative error ${m.worstCompletenessRel.toExponential(2)}`,
  ].join('\n');
}

export function formatConcept(c: Omit<AtlasConcept, never> & { c2?: number; c2Random?: number }): string {
  return [
    `Concept ${c.concept}: present in ${c.images} images (${(100 * c.frequency).toFixed(2)}%)`,
    `  mean presence ${num(c.meanPresence)}, mean contribution ${num(c.meanContribution)}${c.c2 !== undefined ? `, C² ${c.c2.toFixed(3)} (random ${c.c2Random!.toFixed(3)})` : ''}`,
    `  contributes most to: ${c.classes.map((k) => `${k.name} (${num(k.contribution)})`).join(', ') || '—'}`,
    `  top images: ${c.top.map((t) => `#${t.image} (${num(t.presence)})`).join(', ') || '—'}`,
  ].join('\n');
}

export function formatConsistency(r: Omit<ConsistencyReport, never>): string {
  return [
    `C² with ${r.foundation} (${r.upsampler} upsampling), top ${Math.round((1 - r.quantile) * 100)}% images per concept`,
    `  mean C²                ${r.mean.toFixed(4)} over ${r.conceptsInMean} concepts with ≥ ${r.minImagesForMean} images`,
    `  random baseline        ${r.randomMean.toFixed(4)}   Δ_rand ${r.deltaRandom.toFixed(4)}`,
    `  not scored             ${r.dropped.length} concepts (${r.dropped.filter((d) => d.images === 0).length} never present, the others with too few images)`,
    `  time                   ${r.seconds.toFixed(1)} s (${(r.seconds / Math.max(1, r.concepts.length)).toFixed(3)} s per concept)`,
  ].join('\n');
}

/** `fact devices`: one block per provider — what it runs on, or why not and what to install. */
export function formatDevices(providers: ProviderProbe[], auto: string): string {
  const lines = providers.map((p) =>
    p.available
      ? `  ${p.provider.padEnd(7)} available: ${p.device ?? ''}${p.software ? ' — a software adapter (slow; --ep auto never picks it)' : ''}${p.probeMs !== undefined ? ` (probe ${p.probeMs} ms)` : ''}`
      : `  ${p.provider.padEnd(7)} not available: ${p.problem ?? ''}`,
  );
  return ['Execution providers:', ...lines, `--ep auto uses: ${auto}`].join('\n');
}
