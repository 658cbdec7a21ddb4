// Turns the core's explanations (plain, and through an SAE's concepts) into what the explain panel and the HTML
// report show. No `vscode` import.
import * as path from 'node:path';
import type { ExplainResult } from '../../core/jobs/methods';
import type { DecisionResult } from '../../core/jobs/saeMethods';
import type { ConceptDecisionView, ExplainView } from '../../../webview/shared/protocol';

export function toExplainView(r: ExplainResult, modelName: string, seconds: number): ExplainView {
  const e = r.explanation;
  const png = (b64: string) => `data:image/png;base64,${b64}`;
  return {
    model: r.model,
    modelName,
    image: r.image,
    imageName: path.basename(r.image),
    classIndex: e.classIndex,
    className: e.className,
    predicted: e.top[0]?.index === e.classIndex,
    top: e.top.map((c) => ({ index: c.index, name: c.name, logit: c.logit, probability: c.probability })),
    logit: e.logit,
    bias: e.bias,
    contributionSum: e.contributionSum,
    completenessError: e.completenessError,
    positiveContribution: e.positiveContribution,
    width: e.width,
    height: e.height,
    images: { input: png(r.png.input), explanation: png(r.png.explanation), contributions: png(r.png.contributions) },
    seconds,
  };
}

/** The decision through an SAE's concepts (core `explainConcepts`) as the explain panel and the report show it. */
export function toConceptDecisionView(r: DecisionResult, saeName: string, layer: string, seconds: number): ConceptDecisionView {
  const e = r.explanation;
  const png = (b64: string) => `data:image/png;base64,${b64}`;
  const traced = new Set(e.traced.map((t) => t.concept));
  const negative = e.concepts.filter((c) => c.contribution < 0 && !traced.has(c.concept)).sort((a, b) => a.contribution - b.contribution).slice(0, 3);
  const name = (i: number) => e.top.find((t) => t.index === i)?.name ?? `class ${i}`;
  return {
    model: r.model,
    image: r.image,
    sae: r.sae,
    saeName,
    layer,
    classIndex: e.classIndex,
    className: e.className,
    top: e.top.map((c) => ({ index: c.index, name: c.name, logit: c.logit, probability: c.probability })),
    predictedWithoutSae: e.predictedWithoutSae,
    predictedWithoutSaeName: name(e.predictedWithoutSae),
    logit: e.logit,
    bias: e.bias,
    conceptSum: e.concepts.reduce((a, c) => a + c.contribution, 0),
    completenessError: e.completenessError,
    active: e.concepts.length,
    traced: e.traced.map((t) => ({ concept: t.concept, presence: t.presence, contribution: t.contribution, share: t.share, traceSum: t.traceSum, png: png(t.png) })),
    negative: negative.map((c) => ({ concept: c.concept, presence: c.presence, contribution: c.contribution, share: c.share })),
    other: { concepts: e.other.concepts, contribution: e.other.contribution, share: e.other.share, png: png(e.other.png) },
    full: { png: png(e.full.png), contributionMapSum: e.full.contributionMapSum },
    input: png(e.input),
    seconds,
  };
}
