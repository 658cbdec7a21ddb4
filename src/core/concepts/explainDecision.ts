// A decision explained through concepts (`fact explain … --sae`): with the SAE in place, the prediction, every
// active concept's contribution to the explained logit and its share — two definitions, labelled: 100·c_k/Σ max(c, 0)
// (of the positive contributions) and 100·c_k/logit (FaCT's figures) — the top concepts each with
// its input-level trace (its presence back-propagated in explanation mode), the other concepts together, the
// full-logit explanation, and the completeness line Σ_k c_k + bias = logit.
import { FactError } from '../errors';
import type { RawImage } from '../data/rawImage';
import { checkInputFits, preprocessImage } from '../data/preprocess';
import type { Explainer } from '../engine/explainer';
import { conceptContributions } from '../evaluate/conceptContributions';
import { fromVectors, layerLayout, toVectors } from '../evaluate/layerLayout';
import type { SaeEncodeFn } from '../evaluate/saeCodes';
import { className, type ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import type { ModelRunner } from '../model/modelRunner';
import { topClasses, type ClassScore } from '../model/predict';
import { explanationToRgba, traceOnBlack, type RgbaImage } from '../render/colorMap';
import { inputToRgba } from '../render/png';
import type { SaeWeights } from '../sae/saeConfig';
import { conceptCotangent } from './conceptCotangents';

export interface ConceptShare {
  concept: number;
  presence: number;
  contribution: number;
  /** 100·c_k / Σ max(c, 0): the concept's part of the positive contributions. */
  share: number;
  /** 100·c_k / logit: the definition of FaCT's figures, for comparing with the paper. */
  shareOfLogit: number;
}

export interface TracedConcept extends ConceptShare {
  trace: RgbaImage;
  /** Σ x·trace. It equals the presence only when no constant joins the path between the input and the SAE's
   *  layer; otherwise traceSum + traceBias = presence, where traceBias is what those constants (a ViT's positional
   *  embedding) contribute to the presence in explanation mode. */
  traceSum: number;
  traceBias: number;
}

/** A top class with the SAE in place, beside the model's own logit for it (without the SAE). */
export interface ClassWithModelLogit extends ClassScore {
  modelLogit: number;
}

export interface DecisionExplanation {
  top: ClassWithModelLogit[];
  predictedWithoutSae: number;
  predictedWithoutSaeName: string;
  classIndex: number;
  className: string;
  logit: number;
  bias: number;
  /** Every active concept, by contribution, largest first. */
  concepts: ConceptShare[];
  traced: TracedConcept[];
  other: { concepts: number; contribution: number; share: number; shareOfLogit: number; trace: RgbaImage };
  full: { trace: RgbaImage; contributionMapSum: number };
  completenessError: number;
  input: RgbaImage;
  side: number;
}

export interface DecisionOptions {
  classIndex?: number;
  topConcepts?: number;
}

export async function explainDecision(
  ctx: ModelContext,
  runner: ModelRunner,
  explainer: Explainer,
  sae: SaeWeights,
  encode: SaeEncodeFn,
  raw: RawImage,
  opts: DecisionOptions = {},
): Promise<DecisionExplanation> {
  checkInputFits(ctx.imageInput, ctx.preprocess, ctx.file);
  const layer = resolveModelLayer(ctx, sae.cfg.layer);
  const layout = layerLayout(explainer.shapeOf(layer.tensor).slice(1));
  if (layout.dim !== sae.cfg.dModel)
    throw new FactError(
      'bad-checkpoint',
      `The SAE reads ${sae.cfg.dModel}-dimensional features but layer '${layer.label}' has ${layout.dim}.`,
    );
  const x = preprocessImage(raw, ctx.preprocess);
  const run = await runner.run(ctx, x, 1, [layer.tensor]);
  const k = explainer.shapeOf(ctx.logitsOutput)[1]!;
  const plainLogits = run.outputs[ctx.logitsOutput]!.data;
  const z = toVectors(run.outputs[layer.tensor]!.data, 1, layout);
  const codes = await encode(z, layout.locations);
  const head = await explainer.runHead(
    layer.tensor,
    fromVectors(codes.reconstruction, 1, layout),
    1,
    opts.classIndex !== undefined ? [opts.classIndex] : 'predicted',
  );
  const cls = head.classes[0]!;
  const g = toVectors(head.gradient.data, 1, layout);
  const [c] = conceptContributions(codes, g, 1, layout.locations, sae.wDec, sae.cfg.dictSize);
  const positive = Array.from(c!.contribution).reduce((a, v) => a + Math.max(0, v), 0);
  const share = (v: number) => (positive > 0 ? (100 * v) / positive : 0);
  const logitOf = head.logits.data[cls]!;
  const shareOfLogit = (v: number) => (logitOf !== 0 ? (100 * v) / logitOf : 0);
  const concepts: ConceptShare[] = Array.from(c!.concepts, (concept, t) => ({
    concept,
    presence: c!.presence[t]!,
    contribution: c!.contribution[t]!,
    share: share(c!.contribution[t]!),
    shareOfLogit: shareOfLogit(c!.contribution[t]!),
  })).sort((a, b) => b.contribution - a.contribution);
  const topN = Math.min(opts.topConcepts ?? 16, concepts.length);
  const top = concepts.slice(0, topN);
  const rest = concepts.slice(topN);
  const cot = { wEnc: sae.wEnc, wDec: sae.wDec, dictSize: sae.cfg.dictSize };
  const per = layout.dim * layout.locations;
  const rows = new Float32Array((topN + 2) * per);
  top.forEach((t, i) => rows.set(conceptCotangent(codes, layout, cot, new Set([t.concept]), 'presence'), i * per));
  rows.set(conceptCotangent(codes, layout, cot, new Set(rest.map((r) => r.concept)), 'contribution', g), topN * per);
  rows.set(conceptCotangent(codes, layout, cot, new Set(concepts.map((r) => r.concept)), 'contribution', g), (topN + 1) * per);
  const traces = await explainer.traceFromLayer(x, layer.tensor, rows, topN + 2);
  const side = ctx.preprocess.centerCrop;
  const channels = explainer.explained.channels;
  const input = traces.input.data;
  const plane = channels * side * side;
  const render = (i: number) =>
    traceOnBlack(explanationToRgba(traces.traces.data.subarray(i * plane, (i + 1) * plane), input, channels, side, side));
  const dot = (i: number) => {
    let s = 0;
    for (let p = 0; p < plane; p++) s += input[p]! * traces.traces.data[i * plane + p]!;
    return s;
  };
  const logit = head.logits.data[cls]!;
  const bias = head.bias[0]!;
  const sum = concepts.reduce((a, t) => a + t.contribution, 0);
  const otherContribution = rest.reduce((a, t) => a + t.contribution, 0);
  return {
    top: topClasses(ctx, head.logits.data, Math.min(5, k)).map((c) => ({ ...c, modelLogit: plainLogits[c.index]! })),
    predictedWithoutSae: argmax(plainLogits),
    predictedWithoutSaeName: className(ctx, argmax(plainLogits)),
    classIndex: cls,
    className: className(ctx, cls),
    logit,
    bias,
    concepts,
    traced: top.map((t, i) => ({ ...t, trace: render(i), traceSum: dot(i), traceBias: traces.bias[i]! })),
    other: {
      concepts: rest.length,
      contribution: otherContribution,
      share: share(otherContribution),
      shareOfLogit: shareOfLogit(otherContribution),
      trace: render(topN),
    },
    full: { trace: render(topN + 1), contributionMapSum: dot(topN + 1) },
    completenessError: Math.abs(sum + bias - logit),
    input: inputToRgba(input, channels, side, side),
    side,
  };
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}
