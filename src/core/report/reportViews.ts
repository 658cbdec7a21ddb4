// What an explanation looks like once it is ready to show: the core's results (plain, through an SAE's concepts,
// a concept's top images) turned into plain data with pictures as data: URIs. The Explain panel posts these (its
// protocol's ExplainView, ConceptDecisionView and ConceptStripView are the same shapes: the compiler checks it
// where the host passes one for the other) and the HTML report renders them — one conversion, so the CLI's report
// and the panel's Export show the same numbers.
import * as path from 'node:path';
import { pngDataUri } from '../../../common/format';
import type { ExplainResult } from '../jobs/modelMethods';
import type { DecisionResult } from '../jobs/saeMethods';
import type { AtlasConcept } from '../concepts/atlas';
import { ranOnText, type RanOn } from '../onnx/providerUsage';

export interface ClassScoreView {
  index: number;
  name: string;
  logit: number;
  probability: number;
}

export interface ExplainReportView {
  model: string;
  modelName: string;
  image: string;
  imageName: string;
  classIndex: number;
  className: string;
  predicted: boolean;
  top: ClassScoreView[];
  logit: number;
  bias: number;
  contributionSum: number;
  completenessError: number;
  positiveContribution: number;
  width: number;
  height: number;
  images: { input: string; explanation: string; contributions: string };
  seconds: number;
  /** Where the explanation ran ("cpu", "webgpu on …"), when the result says. */
  ranOn?: string | undefined;
}

export interface ConceptShareView {
  concept: number;
  presence: number;
  contribution: number;
  share: number;
}

export interface DecisionReportView {
  model: string;
  image: string;
  sae: string;
  saeName: string;
  layer: string;
  classIndex: number;
  className: string;
  /** Top classes with the SAE in place, each with the model's own logit for it (without the SAE). */
  top: (ClassScoreView & { modelLogit: number })[];
  predictedWithoutSae: number;
  predictedWithoutSaeName: string;
  logit: number;
  bias: number;
  conceptSum: number;
  completenessError: number;
  active: number;
  traced: (ConceptShareView & { traceSum: number; png: string })[];
  negative: ConceptShareView[];
  other: { concepts: number; contribution: number; share: number; png: string };
  full: { png: string; contributionMapSum: number };
  input: string;
  seconds: number;
}

export interface StripReportView {
  concept: number;
  png: string;
  count: number;
  frequency: number;
  meanContribution: number;
  c2: number | null;
  topClass: string | null;
}

/** How many of the most negative (untraced) concepts get a bar of their own. */
export const NEGATIVE_BARS = 3;

export function explainReportView(r: ExplainResult & RanOn, modelName: string, seconds: number): ExplainReportView {
  const e = r.explanation;
  const ranOn = ranOnText(r);
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
    images: { input: pngDataUri(r.png.input), explanation: pngDataUri(r.png.explanation), contributions: pngDataUri(r.png.contributions) },
    seconds,
    ...(ranOn ? { ranOn } : {}),
  };
}

/** The decision through an SAE's concepts (core `explainConcepts`). */
export function decisionReportView(r: DecisionResult, saeName: string, layer: string, seconds: number): DecisionReportView {
  const e = r.explanation;
  const traced = new Set(e.traced.map((t) => t.concept));
  const negative = e.concepts
    .filter((c) => c.contribution < 0 && !traced.has(c.concept))
    .sort((a, b) => a.contribution - b.contribution)
    .slice(0, NEGATIVE_BARS);
  return {
    model: r.model,
    image: r.image,
    sae: r.sae,
    saeName,
    layer,
    classIndex: e.classIndex,
    className: e.className,
    top: e.top.map((c) => ({ index: c.index, name: c.name, logit: c.logit, probability: c.probability, modelLogit: c.modelLogit })),
    predictedWithoutSae: e.predictedWithoutSae,
    predictedWithoutSaeName: e.predictedWithoutSaeName,
    logit: e.logit,
    bias: e.bias,
    conceptSum: e.concepts.reduce((a, c) => a + c.contribution, 0),
    completenessError: e.completenessError,
    active: e.concepts.length,
    traced: e.traced.map((t) => ({
      concept: t.concept,
      presence: t.presence,
      contribution: t.contribution,
      share: t.share,
      traceSum: t.traceSum,
      png: pngDataUri(t.png),
    })),
    negative: negative.map((c) => ({ concept: c.concept, presence: c.presence, contribution: c.contribution, share: c.share })),
    other: { concepts: e.other.concepts, contribution: e.other.contribution, share: e.other.share, png: pngDataUri(e.other.png) },
    full: { png: pngDataUri(e.full.png), contributionMapSum: e.full.contributionMapSum },
    input: pngDataUri(e.input),
    seconds,
  };
}

/** A concept's top dataset images (core `concept`, from the atlas) beside its C² when measured. */
export function stripReportView(
  c: Pick<AtlasConcept, 'concept' | 'top' | 'frequency' | 'meanContribution' | 'classes'> & { stripPng: string; c2?: number },
  c2?: number,
): StripReportView {
  return {
    concept: c.concept,
    png: pngDataUri(c.stripPng),
    count: c.top.length,
    frequency: c.frequency,
    meanContribution: c.meanContribution,
    c2: c.c2 ?? c2 ?? null,
    topClass: c.classes[0]?.name ?? null,
  };
}

/** An SAE's short name: its folder relative to the model's `saes/` folder ('layer3', 'layer3/k8-1024'), else its basename. */
export function saeShortName(model: string, sae: string): string {
  const rel = path.relative(path.join(path.dirname(path.resolve(model)), 'saes'), path.resolve(sae));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : path.basename(sae);
}
