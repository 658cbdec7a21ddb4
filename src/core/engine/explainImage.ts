// One explained image as the CLI and the editor show it: top classes, the explained logit and its decomposition,
// and the rendered pictures (the input, the B-cos colour explanation, the signed contribution map).
import type { RawImage } from '../data/rawImage';
import { checkInputFits, preprocessImage } from '../data/preprocess';
import { className, type ModelContext } from '../model/modelContext';
import { topClasses, type ClassScore } from '../model/predict';
import { contributionHeatmap, explanationToRgba, type RgbaImage } from '../render/colorMap';
import { inputToRgba } from '../render/png';
import type { Explainer } from './explainer';

export interface ImageExplanation {
  top: ClassScore[];
  classIndex: number;
  className: string;
  logit: number;
  bias: number;
  contributionSum: number;
  completenessError: number;
  /** Share of the logit (minus bias) from pixels with positive contribution, for reading the map. */
  positiveContribution: number;
  height: number;
  width: number;
  images: { input: RgbaImage; explanation: RgbaImage; contributions: RgbaImage };
  /** The raw arrays over the explained (encoded) input, channels × H × W: W(x) for the class, and x ⊙ W(x), whose
   *  sum over channels is the contribution map and whose total plus the bias is the logit. */
  arrays: { dims: number[]; weights: Float32Array; contributions: Float32Array };
}

export async function explainImage(
  ctx: ModelContext,
  explainer: Explainer,
  raw: RawImage,
  classIndex?: number,
  topK = 5,
): Promise<ImageExplanation> {
  checkInputFits(ctx.imageInput, ctx.preprocess, ctx.file);
  const x = preprocessImage(raw, ctx.preprocess);
  const [e] = await explainer.explain(x, 1, [classIndex]);
  const ex = e!;
  const side = ctx.preprocess.centerCrop;
  const channels = explainer.explained.channels;
  let positive = 0;
  for (const v of ex.contributionMap) if (v > 0) positive += v;
  return {
    top: topClasses(ctx, ex.logits, Math.min(topK, ex.logits.length)),
    classIndex: ex.classIndex,
    className: className(ctx, ex.classIndex),
    logit: ex.logit,
    bias: ex.bias,
    contributionSum: ex.contributionSum,
    completenessError: ex.completenessError,
    positiveContribution: positive,
    height: side,
    width: side,
    arrays: { dims: [channels, side, side], weights: ex.weights, contributions: ex.input.map((v, i) => v * ex.weights[i]!) },
    images: {
      input: inputToRgba(ex.input, channels, side, side),
      explanation: explanationToRgba(ex.weights, ex.input, channels, side, side),
      contributions: contributionHeatmap(ex.contributionMap, side, side),
    },
  };
}
