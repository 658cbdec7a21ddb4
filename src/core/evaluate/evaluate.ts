// `fact evaluate`: the model with its SAE in place over a test set. The layer's features are replaced by the SAE's
// reconstruction and the error is NOT added back (as the reference does), so contributions stay complete. Reports
// top-1 accuracy with and without the SAE, image-L0, reconstruction error, 80%-positive-coverage L0, alive and
// always-active concepts; and keeps, per image and concept, the presence Σ u and the contribution Σ u·∂logit/∂u.
import { FactError, throwIfAborted } from '../errors';
import type { Dataset } from '../data/dataset';
import { checkInputFits, preprocessImage } from '../data/preprocess';
import type { Explainer } from '../engine/explainer';
import { argmaxRows } from '../engine/explainer';
import type { ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import type { ModelRunner } from '../model/modelRunner';
import type { SaeWeights } from '../sae/saeConfig';
import { conceptContributions, coverageL0 } from './conceptContributions';
import { RecordsBuilder, type EvaluationRecords } from './evaluationFile';
import { fromVectors, layerLayout, toVectors } from './layerLayout';
import type { SaeEncodeFn } from './saeCodes';

export interface EvaluationMetrics {
  images: number;
  accuracy: number;
  accuracyWithSae: number;
  /** Mean number of concepts present (Σ u > 0) per image. */
  imageL0: number;
  /** Σ‖z − ẑ‖² / Σ‖z‖² over all locations (fraction of the energy not reconstructed). */
  relativeSquaredError: number;
  /** Fraction of variance unexplained: Σ‖z − ẑ‖² / Σ‖z − z̄‖² (z̄ the mean feature vector). */
  fvu: number;
  /** Mean over locations of ‖z − ẑ‖ / ‖z‖. */
  relativeL2Error: number;
  /** Mean number of concepts needed to reach 80% of an image's positive contribution. */
  coverageL0: number;
  alive: number;
  alivePercentage: number;
  /** Concepts contributing on more than 85% of the images. */
  alwaysActive: number;
  /** Worst |Σ_k c_k + bias − logit| / max(1, |logit|) over the images. */
  worstCompletenessRel: number;
}

export interface EvaluateOptions {
  layer: string;
  dataset: Dataset;
  sae: SaeWeights;
  encode: SaeEncodeFn;
  limit?: number;
  /** Start at this image of the dataset (a held-out range for validation). */
  offset?: number;
  batchSize?: number;
  /** Keep per-image records (for the atlas); off for quick validation during training. */
  keepRecords?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export async function evaluateSae(
  ctx: ModelContext,
  runner: ModelRunner,
  explainer: Explainer,
  opts: EvaluateOptions,
): Promise<{ metrics: EvaluationMetrics; records?: EvaluationRecords }> {
  checkInputFits(ctx.imageInput, ctx.preprocess, ctx.file);
  const layer = resolveModelLayer(ctx, opts.layer);
  const layout = layerLayout(explainer.shapeOf(layer.tensor).slice(1));
  const { cfg, wDec } = opts.sae;
  if (cfg.dModel !== layout.dim) {
    throw new FactError(
      'bad-checkpoint',
      `The SAE reads ${cfg.dModel}-dimensional features but layer '${layer.label}' of '${ctx.file}' has ${layout.dim} channels.`,
      { layer: layer.label },
    );
  }
  const offset = opts.offset ?? 0;
  const total = Math.min(opts.dataset.size, offset + (opts.limit ?? Infinity));
  const batchSize = opts.batchSize ?? 32;
  const k = explainer.shapeOf(ctx.logitsOutput)[1]!;
  const records = opts.keepRecords ? new RecordsBuilder() : undefined;
  let images = 0,
    correct = 0,
    correctSae = 0,
    l0 = 0,
    cover = 0,
    errNum = 0,
    errDen = 0,
    relSum = 0,
    locs = 0,
    worst = 0,
    vectors = 0;
  const featureSum = new Float64Array(layout.dim);
  const presentCount = new Int32Array(cfg.dictSize);
  const contributingCount = new Int32Array(cfg.dictSize);
  const per = ctx.imageInput.channels * ctx.preprocess.centerCrop ** 2;
  for (let from = offset; from < total; from += batchSize) {
    throwIfAborted(opts.signal, 'Evaluation');
    const idx = Array.from({ length: Math.min(batchSize, total - from) }, (_, i) => from + i);
    const raws = await Promise.all(
      idx.map(async (i) => ({ i, item: opts.dataset.item(i), image: await opts.dataset.image(i).catch(() => undefined) })),
    );
    const good = raws.filter((r) => r.image);
    const n = good.length;
    if (n === 0) continue;
    const batch = new Float32Array(per * n);
    good.forEach((g, j) => batch.set(preprocessImage(g.image!, ctx.preprocess), j * per));
    const run = await runner.run(ctx, batch, n, [layer.tensor]);
    const plain = argmaxRows(run.outputs[ctx.logitsOutput]!.data, n, k);
    const z = toVectors(run.outputs[layer.tensor]!.data, n, layout);
    const codes = await opts.encode(z, n * layout.locations);
    const head = await explainer.runHead(layer.tensor, fromVectors(codes.reconstruction, n, layout), n, 'predicted');
    const grads = toVectors(head.gradient.data, n, layout);
    const concepts = conceptContributions(codes, grads, n, layout.locations, wDec, cfg.dictSize);
    for (let r = 0; r < n * layout.locations; r++) {
      let num = 0,
        den = 0;
      for (let i = 0; i < layout.dim; i++) {
        const a = z[r * layout.dim + i]!;
        const e = a - codes.reconstruction[r * layout.dim + i]!;
        num += e * e;
        den += a * a;
        featureSum[i]! += a;
      }
      vectors++;
      errNum += num;
      errDen += den;
      if (den > 0) {
        relSum += Math.sqrt(num / den);
        locs++;
      }
    }
    good.forEach((g, j) => {
      const c = concepts[j]!;
      const label = g.item.label;
      // A label the model has no class for would silently count as wrong: the dataset does not fit the model.
      if (!(Number.isInteger(label) && label >= 0 && label < k)) {
        throw new FactError(
          'bad-dataset',
          `Image '${g.item.id}' of the dataset '${opts.dataset.source}' has label ${label}, but the model '${ctx.file}' has ${k} classes (0–${k - 1}); evaluate on a dataset labelled with the model's classes.`,
          { file: opts.dataset.source, image: g.item.id, label },
        );
      }
      const predicted = head.classes[j]!;
      const logit = head.logits.data[j * k + predicted]!;
      const bias = head.bias[j]!;
      let sum = 0;
      for (let t = 0; t < c.concepts.length; t++) {
        sum += c.contribution[t]!;
        presentCount[c.concepts[t]!]!++;
        if (c.contribution[t] !== 0) contributingCount[c.concepts[t]!]!++;
      }
      worst = Math.max(worst, Math.abs(sum + bias - logit) / Math.max(1, Math.abs(logit)));
      images++;
      if (plain[j] === label) correct++;
      if (predicted === label) correctSae++;
      l0 += c.concepts.length;
      cover += coverageL0(c.contribution);
      records?.add({ image: g.i, label, predicted, predictedWithoutSae: plain[j]!, logit, bias, concepts: c });
    });
    opts.onProgress?.(from + idx.length - offset, total - offset);
  }
  if (images === 0) throw new FactError('bad-dataset', `No image of '${opts.dataset.source}' could be evaluated.`);
  const alive = presentCount.reduce((a, c) => a + (c > 0 ? 1 : 0), 0);
  const metrics: EvaluationMetrics = {
    images,
    accuracy: correct / images,
    accuracyWithSae: correctSae / images,
    imageL0: l0 / images,
    relativeSquaredError: errNum / Math.max(errDen, 1e-30),
    fvu: errNum / Math.max(errDen - featureSum.reduce((a, s) => a + s * s, 0) / Math.max(1, vectors), 1e-30),
    relativeL2Error: relSum / Math.max(1, locs),
    coverageL0: cover / images,
    alive,
    alivePercentage: (100 * alive) / cfg.dictSize,
    alwaysActive: contributingCount.reduce((a, c) => a + (c > 0.85 * images ? 1 : 0), 0),
    worstCompletenessRel: worst,
  };
  return {
    metrics,
    ...(records
      ? {
          records: records.build({
            modelSha256: ctx.loaded.sha256,
            layer: layer.label,
            dataset: opts.dataset.source,
            dictSize: cfg.dictSize,
            k: cfg.k,
          }),
        }
      : {}),
  };
}
