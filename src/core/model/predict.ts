// `fact predict`: preprocess images as the model expects and return the top classes with logits and probabilities.
import { FactError } from '../errors';
import { checkInputFits, preprocessImage } from '../data/preprocess';
import type { RawImage } from '../data/rawImage';
import { className, type ModelContext } from './modelContext';
import type { ModelRunner } from './modelRunner';

export interface ClassScore {
  index: number;
  name: string;
  logit: number;
  probability: number;
}
export interface Prediction {
  top: ClassScore[];
  logits: number[];
}

export function topClasses(ctx: ModelContext, logits: ArrayLike<number>, k: number): ClassScore[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp(logits[i]! - max);
  return Array.from({ length: logits.length }, (_, i) => i)
    .sort((a, b) => logits[b]! - logits[a]!)
    .slice(0, k)
    .map((i) => ({ index: i, name: className(ctx, i), logit: logits[i]!, probability: Math.exp(logits[i]! - max) / total }));
}

export async function predictImages(ctx: ModelContext, runner: ModelRunner, images: RawImage[], k = 5): Promise<Prediction[]> {
  if (images.length === 0) return [];
  checkInputFits(ctx.imageInput, ctx.preprocess, ctx.file);
  const tensors = images.map((img) => preprocessImage(img, ctx.preprocess));
  const per = tensors[0]!.length;
  const batch = new Float32Array(per * tensors.length);
  tensors.forEach((t, i) => batch.set(t, i * per));
  const { outputs } = await runner.run(ctx, batch, images.length);
  const logits = outputs[ctx.logitsOutput]!;
  const numClasses = logits.dims[1]!;
  if (ctx.classes && ctx.classes.length !== numClasses) {
    throw new FactError('bad-card', `The card lists ${ctx.classes.length} classes but '${ctx.file}' produced ${numClasses} logits.`, {
      file: ctx.file,
    });
  }
  return images.map((_, i) => {
    const row = Array.from(logits.data.subarray(i * numClasses, (i + 1) * numClasses));
    return { top: topClasses(ctx, row, Math.min(k, numClasses)), logits: row };
  });
}
