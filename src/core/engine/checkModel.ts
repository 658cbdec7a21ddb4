// `fact check`: is this model dynamic-linear, what was frozen, and how complete are its explanations in practice.
import { isFactError } from '../errors';
import type { ModelContext } from '../model/modelContext';
import type { SessionOptions } from '../onnx/session';
import { Explainer } from './explainer';

export interface CheckReport {
  file: string;
  dynamicLinear: boolean;
  /** Why not, when it is not. */
  reason?: string;
  explainedInput?: string;
  explainedInputInGraph?: boolean;
  pathLength?: number;
  frozenFactors?: number;
  biasNodes?: string[];
  imagesTested?: number;
  classesTested?: number;
  worstCompletenessAbs?: number;
  worstCompletenessRel?: number;
}

/** Checks completeness on `inputs` (preprocessed images) or, when none are given, on seeded random images. */
export async function checkModel(ctx: ModelContext, inputs: Float32Array[], options: SessionOptions = {}): Promise<CheckReport> {
  let explainer: Explainer | undefined;
  try {
    explainer = await Explainer.create(ctx, options);
    const report = await explainer.report();
    const batch = inputs.length ? inputs : randomImages(ctx, 4);
    const per = batch[0]!.length;
    const all = new Float32Array(per * batch.length);
    batch.forEach((b, i) => all.set(b, i * per));
    const k = explainer.shapeOf(ctx.logitsOutput)[1]!;
    const classes = Math.min(k, 10);
    let worstAbs = 0;
    let worstRel = 0;
    for (let c = 0; c < classes; c++) {
      for (const e of await explainer.explain(
        all,
        batch.length,
        batch.map(() => c),
      )) {
        worstAbs = Math.max(worstAbs, e.completenessError);
        worstRel = Math.max(worstRel, e.completenessError / Math.max(1, Math.abs(e.logit)));
      }
    }
    return {
      file: ctx.file,
      dynamicLinear: true,
      explainedInput: report.explainedInput.tensor,
      explainedInputInGraph: report.explainedInput.inGraph,
      pathLength: report.pathLength,
      frozenFactors: report.frozenFactors,
      biasNodes: report.biasNodes,
      imagesTested: batch.length,
      classesTested: classes,
      worstCompletenessAbs: worstAbs,
      worstCompletenessRel: worstRel,
    };
  } catch (e) {
    if (isFactError(e) && e.code === 'unsupported-model') return { file: ctx.file, dynamicLinear: false, reason: e.message };
    throw e;
  } finally {
    await explainer?.dispose();
  }
}

function randomImages(ctx: ModelContext, n: number): Float32Array[] {
  const { channels } = ctx.imageInput;
  const side = ctx.imageInput.height ?? ctx.preprocess.centerCrop;
  const plane = side * side;
  const raw = ctx.preprocess.addInverse ? channels / 2 : channels;
  let s = 99;
  return Array.from({ length: n }, () => {
    const x = new Float32Array(channels * plane);
    for (let c = 0; c < raw; c++) {
      for (let i = 0; i < plane; i++) {
        s = (s * 1103515245 + 12345) >>> 0;
        const v = s / 2 ** 32;
        x[c * plane + i] = v;
        if (ctx.preprocess.addInverse) x[(c + raw) * plane + i] = 1 - v;
      }
    }
    return x;
  });
}
