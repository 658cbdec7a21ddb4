// `fact consistency`: the C² score of every concept of an SAE. For each concept, its top images by presence (from
// the evaluation records); for each (image, concept), the positive part of the concept's input trace weights the
// foundation model's (bilinearly upsampled) features into one encoding; encodings minus the dataset mean are
// compared by presence-weighted pairwise cosine. A random-trace baseline on the same images gives Δ_rand.
import { FactError, throwIfAborted } from '../errors';
import type { Dataset } from '../data/dataset';
import { preprocessImage } from '../data/preprocess';
import { presenceTraces } from '../concepts/presenceTraces';
import type { Explainer } from '../engine/explainer';
import type { EvaluationRecords } from '../evaluate/evaluationFile';
import { layerLayout } from '../evaluate/layerLayout';
import type { SaeEncodeFn } from '../evaluate/saeCodes';
import type { ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import type { ModelRunner } from '../model/modelRunner';
import type { SaeWeights } from '../sae/saeConfig';
import { seededUniform } from '../features/sampleLocations';
import { pullBack } from './bilinear';
import { conceptConsistency, positivePart, randomTrace, selectTopImages, weightedEncoding } from './c2Score';
import type { FoundationModel } from './foundationModel';

export interface ConceptConsistency {
  concept: number;
  images: number;
  score: number;
  random: number;
}

export interface ConsistencyReport {
  foundation: string;
  upsampler: 'bilinear';
  quantile: number;
  /** Concepts scored, with their images counted. */
  concepts: ConceptConsistency[];
  /** Concepts that could not be scored, and why. */
  dropped: { concept: number; images: number; reason: string }[];
  /** Mean C² over concepts with at least `minImagesForMean` images, its random baseline, and the gap. */
  mean: number;
  randomMean: number;
  deltaRandom: number;
  minImagesForMean: number;
  conceptsInMean: number;
  meanImages: number;
  seconds: number;
}

export interface ConsistencyOptions {
  layer: string;
  sae: SaeWeights;
  encode: SaeEncodeFn;
  records: EvaluationRecords;
  dataset: Dataset;
  foundation: FoundationModel;
  quantile?: number;
  minImages?: number;
  /** Images used for the dataset mean of the foundation features (all when undefined). */
  meanImages?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, stage: string) => void;
}

export async function measureConsistency(
  ctx: ModelContext,
  runner: ModelRunner,
  explainer: Explainer,
  opts: ConsistencyOptions,
): Promise<ConsistencyReport> {
  const t0 = Date.now();
  const q = opts.quantile ?? 0.95;
  const layer = resolveModelLayer(ctx, opts.layer);
  const layout = layerLayout(explainer.shapeOf(layer.tensor).slice(1));
  const { records: r, sae } = opts;
  const K = sae.cfg.dictSize;
  const n = r.label.length;
  // Presence of each concept over the evaluated images.
  const byConcept: { rows: number[]; presence: number[] }[] = Array.from({ length: K }, () => ({ rows: [], presence: [] }));
  for (let i = 0; i < n; i++) {
    for (let t = r.indptr[i]!; t < r.indptr[i + 1]!; t++) {
      const c = r.concept[t]!;
      if (c >= K)
        throw new FactError(
          'bad-store',
          `The evaluation records name concept ${c}, but the SAE has ${K}: they belong to another checkpoint; evaluate again.`,
        );
      byConcept[c]!.rows.push(i);
      byConcept[c]!.presence.push(r.presence[t]!);
    }
  }
  const selected = new Map<number, { row: number; presence: number }[]>();
  const dropped: ConsistencyReport['dropped'] = [];
  byConcept.forEach((b, c) => {
    if (b.rows.length === 0) {
      dropped.push({ concept: c, images: 0, reason: 'never present (dead)' });
      return;
    }
    const pick = selectTopImages(b.presence, q, opts.minImages ?? 10).map((j) => ({ row: b.rows[j]!, presence: b.presence[j]! }));
    if (pick.length < 2)
      dropped.push({
        concept: c,
        images: pick.length,
        reason: `only ${pick.length} image${pick.length === 1 ? '' : 's'} in its top ${Math.round((1 - q) * 100)}%: too few to compare`,
      });
    else selected.set(c, pick);
  });
  // Per image, the concepts to trace on it.
  const perImage = new Map<number, number[]>();
  for (const [c, picks] of selected) for (const p of picks) (perImage.get(p.row) ?? perImage.set(p.row, []).get(p.row)!).push(c);
  const enc = new Map<string, Float64Array>();
  const encRandom = new Map<string, Float64Array>();
  const side = ctx.preprocess.centerCrop;
  const raw = ctx.preprocess.addInverse ? ctx.imageInput.channels / 2 : ctx.imageInput.channels;
  const plane = side * side;
  const rand = seededUniform(opts.seed ?? 0);
  const cot = { wEnc: sae.wEnc, wDec: sae.wDec, dictSize: K };
  const rows = [...perImage.keys()].sort((a, b) => a - b);
  let done = 0;
  for (const row of rows) {
    throwIfAborted(opts.signal, 'Consistency');
    const concepts = perImage.get(row)!;
    const x = preprocessImage(await opts.dataset.image(r.imageIndex[row]!), ctx.preprocess);
    const traced = await presenceTraces(ctx, runner, explainer, layer.tensor, layout, cot, opts.encode, x, concepts);
    const f = await opts.foundation.features(x.subarray(0, raw * plane), raw, side, 1);
    const pull = (a: ArrayLike<number>) => pullBack(a, side, side, f.h, f.w);
    concepts.forEach((c, i) => {
      enc.set(`${c}:${row}`, weightedEncoding(pull(positivePart(traced.maps[i]!)), f.data, f.dim));
      encRandom.set(`${c}:${row}`, weightedEncoding(pull(randomTrace(plane, rand)), f.data, f.dim));
    });
    opts.onProgress?.(++done, rows.length, 'traces');
  }
  // Dataset mean of the uniformly averaged foundation features.
  const meanRows = Array.from({ length: Math.min(n, opts.meanImages ?? n) }, (_, i) =>
    Math.floor((i * n) / Math.min(n, opts.meanImages ?? n)),
  );
  let mean: Float64Array | undefined;
  const batch = 64;
  for (let s = 0; s < meanRows.length; s += batch) {
    throwIfAborted(opts.signal, 'Consistency');
    const chunk = meanRows.slice(s, s + batch);
    const planes = new Float32Array(chunk.length * raw * plane);
    for (const [j, row] of chunk.entries())
      planes.set(preprocessImage(await opts.dataset.image(r.imageIndex[row]!), ctx.preprocess).subarray(0, raw * plane), j * raw * plane);
    const f = await opts.foundation.features(planes, raw, side, chunk.length);
    const uniform = pullBack(new Float64Array(plane).fill(1), side, side, f.h, f.w);
    mean ??= new Float64Array(f.dim);
    for (let j = 0; j < chunk.length; j++) {
      const e = weightedEncoding(uniform, f.data.subarray(j * f.dim * f.h * f.w, (j + 1) * f.dim * f.h * f.w), f.dim);
      for (let d = 0; d < f.dim; d++) mean[d]! += e[d]! / meanRows.length;
    }
    opts.onProgress?.(Math.min(s + batch, meanRows.length), meanRows.length, 'dataset mean');
  }
  const concepts: ConceptConsistency[] = [];
  for (const [c, picks] of selected) {
    const e = picks.map((p) => enc.get(`${c}:${p.row}`)!);
    const er = picks.map((p) => encRandom.get(`${c}:${p.row}`)!);
    const w = picks.map((p) => p.presence);
    concepts.push({ concept: c, images: picks.length, score: conceptConsistency(e, w, mean), random: conceptConsistency(er, w, mean) });
  }
  concepts.sort((a, b) => a.concept - b.concept);
  const minImagesForMean = 5;
  const scored = concepts.filter((c) => c.images >= minImagesForMean && Number.isFinite(c.score));
  const avg = (xs: number[]) => (xs.length ? xs.reduce((a, v) => a + v, 0) / xs.length : NaN);
  const meanScore = avg(scored.map((c) => c.score));
  const randomMean = avg(scored.map((c) => c.random));
  return {
    foundation: opts.foundation.file,
    upsampler: 'bilinear',
    quantile: q,
    concepts,
    dropped,
    mean: meanScore,
    randomMean,
    deltaRandom: meanScore - randomMean,
    minImagesForMean,
    conceptsInMean: scored.length,
    meanImages: meanRows.length,
    seconds: (Date.now() - t0) / 1000,
  };
}
