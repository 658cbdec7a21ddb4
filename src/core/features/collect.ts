// Feature collection (`fact collect`): run the model over a dataset, and for each image keep n locations of the
// layer's feature map, sampled without replacement with weights |Σ_c F_c·∂logit_pred/∂F_c| (explanation mode, via the
// engine), into a chunked store. Resumes where a previous run stopped; the next batch decodes while this one runs.
import { existsSync, promises as fs } from 'node:fs';
import { FactError, isFactError, throwIfAborted } from '../errors';
import type { Dataset } from '../data/dataset';
import { checkInputFits, preprocessImage } from '../data/preprocess';
import type { RawImage } from '../data/rawImage';
import type { Explainer } from '../engine/explainer';
import type { ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import { collectionOrder, type CollectionOrder } from './collectionOrder';
import { readManifest, writeManifest, type FeatureDtype, type FeatureManifest } from './manifest';
import { defaultSamplesPerImage, sampleLocations } from './sampleLocations';
import { nodeIO, ShardWriter, type StoreIO } from './shardWriter';

export interface CollectProgress {
  imagesDone: number;
  images: number;
  vectors: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

export interface CollectOptions {
  layer: string;
  dataset: Dataset;
  outDir: string;
  dtype?: FeatureDtype;
  /** Samples per image; default FaCT's ⌊72·512/C⌋ capped at H·W, lowered to fit `budgetGB`. */
  samplesPerImage?: number;
  budgetGB?: number;
  shardVectors?: number;
  seed?: number;
  /** The order images are visited in (default 'shuffled': every shard a sample of the whole dataset, however it is
   *  sorted); see collectionOrder.ts. */
  order?: CollectionOrder;
  batchSize?: number;
  /** Use only the first `limit` images. */
  limit?: number;
  /** Collect only positions [first, end) of the (limited) dataset's collection order into a part-store: one Slurm
   * task's share. Each
   * image's sampling depends only on its index and the seed, so the parts merge into exactly the one-machine store. */
  range?: [number, number];
  signal?: AbortSignal;
  onProgress?: (p: CollectProgress) => void;
  io?: StoreIO;
}

export async function collectFeatures(ctx: ModelContext, explainer: Explainer, opts: CollectOptions): Promise<FeatureManifest> {
  checkInputFits(ctx.imageInput, ctx.preprocess, ctx.file);
  const layer = resolveModelLayer(ctx, opts.layer);
  const shape = explainer.shapeOf(layer.tensor).slice(1);
  const spatial = shape.length === 3;
  const dim = spatial ? shape[0]! : shape[1]!;
  const locations = spatial ? shape[1]! * shape[2]! : shape[0]!;
  const images = Math.min(opts.dataset.size, opts.limit ?? Infinity);
  const dtype = opts.dtype ?? 'float32';
  const bytesPerVector = dim * (dtype === 'float16' ? 2 : 4) + 8;
  let samples = opts.samplesPerImage ?? defaultSamplesPerImage(dim, locations);
  samples = Math.min(samples, locations);
  if (opts.budgetGB !== undefined) {
    const fit = Math.floor((opts.budgetGB * 1e9) / (images * bytesPerVector));
    if (fit < 1) {
      throw new FactError(
        'bad-input',
        `A ${opts.budgetGB} GB budget cannot hold one ${dim}-dimensional ${dtype} vector for each of ${images} images (that needs ${((images * bytesPerVector) / 1e9).toFixed(3)} GB).`,
      );
    }
    samples = Math.min(samples, fit);
  }
  const range = checkRange(opts.range, images);
  const manifest = await openOrCreate(
    ctx,
    opts,
    { name: layer.label, tensor: layer.tensor, shape },
    { dim, samples, images, dtype, range },
  );
  if (manifest.complete) return manifest;
  const [first, end] = manifest.range ?? [0, images];
  const writer = new ShardWriter(opts.outDir, manifest, opts.io ?? nodeIO, (end - manifest.imagesDone) * manifest.samplesPerImage);
  const batchSize = opts.batchSize ?? 32;
  const seed = manifest.seed;
  const visit = collectionOrder(images, seed, manifest.order ?? 'dataset');
  const t0 = Date.now();
  const startImage = manifest.imagesDone;
  // Batches lie on one grid for the whole dataset (multiples of the batch size from image 0), whatever part or resume
  // computes them: onnxruntime's results can depend on the batch's size, so an image is always computed in the same
  // batch as in an uninterrupted one-machine run; images of the batch before the start or after the end are dropped.
  const firstBatch = Math.floor(startImage / batchSize) * batchSize;
  // When every location is kept the weights cannot change which (sampleLocations returns them all, in order): the
  // features alone are needed, from the forward pass, without the backward to the layer.
  const everyLocation = samples >= locations ? Array.from({ length: locations }, (_, p) => p) : undefined;
  // Element (c, p) of an image sits at its offset + c·cStride + p·pStride (C×H×W or T×C).
  const [cStride, pStride] = spatial ? [locations, 1] : [1, dim];
  const decode = (from: number) => decodeRange(opts.dataset, visit, from, Math.min(images, from + batchSize));
  let next = startImage < end ? decode(firstBatch) : undefined;
  try {
    for (let from = firstBatch; from < end; from += batchSize) {
      throwIfAborted(opts.signal, 'Feature collection');
      const decoded = await next!;
      const to = Math.min(end, from + batchSize);
      // Start decoding the next batch now: sharp works on its own threads while onnxruntime runs this one.
      next = from + batchSize < end ? decode(from + batchSize) : undefined;
      const good = decoded.filter((d) => d.image);
      const per = ctx.imageInput.channels * ctx.preprocess.centerCrop ** 2;
      const batch = new Float32Array(per * good.length);
      good.forEach((d, i) => batch.set(preprocessImage(d.image!, ctx.preprocess), i * per));
      let f: Float32Array | undefined;
      let g: Float32Array | undefined;
      if (good.length && everyLocation) f = (await explainer.layerFeatures(batch, good.length, [layer.tensor]))[layer.tensor]!.data;
      else if (good.length) {
        const run = await explainer.layerGradients(batch, good.length, 'predicted', [layer.tensor]);
        f = run.features[layer.tensor]!.data;
        g = run.gradients[layer.tensor]!.data;
      }
      let k = 0;
      for (const d of decoded) {
        if (d.position >= end) break; // the next part's
        if (d.position < startImage) {
          if (d.image) k++;
          continue;
        } // done before the resume, or the previous part's
        if (!d.image) {
          writer.markSkipped(d.position, d.id, d.error!);
          continue;
        }
        const off = k * dim * locations;
        const picks =
          everyLocation ??
          sampleLocations(locationWeights(f!, g!, off, dim, locations, cStride, pStride), samples, seed * 1_000_003 + d.index);
        await writer.addImage(d.position, d.index, { data: f!, offset: off, cStride, pStride, rows: picks }, picks);
        k++;
      }
      const done = to - startImage;
      const rate = done / Math.max(1e-3, (Date.now() - t0) / 1000);
      opts.onProgress?.({
        imagesDone: to - first,
        images: end - first,
        vectors: manifest.vectors + writer.openVectorCount,
        imagesPerSecond: rate,
        etaSeconds: (end - to) / rate,
      });
    }
    await writer.flush();
  } catch (e) {
    // A shard may still be on its way to the disk: stop only once nothing writes into the store (its lock is released
    // when this returns).
    await writer.settle();
    throw e;
  }
  manifest.complete = true;
  await writeManifest(opts.outDir, manifest);
  return manifest;
}

/** |Σ_c F_c·G_c| per location of one image (at `off`), summed over c in order: channel-major, which reads a C×H×W
 *  map in memory order. */
function locationWeights(
  f: Float32Array,
  g: Float32Array,
  off: number,
  dim: number,
  locations: number,
  cStride: number,
  pStride: number,
): Float64Array {
  const sums = new Float64Array(locations);
  for (let c = 0; c < dim; c++) {
    for (let p = 0, i = off + c * cStride; p < locations; p++, i += pStride) sums[p]! += f[i]! * g[i]!;
  }
  for (let p = 0; p < locations; p++) sums[p] = Math.abs(sums[p]!);
  return sums;
}

function checkRange(range: [number, number] | undefined, images: number): [number, number] | undefined {
  if (!range) return undefined;
  const [first, end] = range;
  if (!Number.isInteger(first) || !Number.isInteger(end) || first < 0 || end <= first || end > images) {
    throw new FactError('bad-input', `The image range ${first}:${end} is not a non-empty part of the dataset's ${images} images.`, {
      range,
    });
  }
  return range;
}

/** An image at `position` of the collection order; `index` is its index in the dataset. */
interface Decoded {
  position: number;
  index: number;
  id: string;
  image?: RawImage;
  error?: string;
}

async function decodeRange(dataset: Dataset, visit: Uint32Array, from: number, to: number): Promise<Decoded[]> {
  return Promise.all(
    Array.from({ length: to - from }, async (_, k) => {
      const position = from + k;
      const index = visit[position]!;
      const { id } = dataset.item(index);
      try {
        return { position, index, id, image: await dataset.image(index) };
      } catch (e) {
        if (isFactError(e) && e.code === 'bad-image') return { position, index, id, error: e.message };
        throw e;
      }
    }),
  );
}

async function openOrCreate(
  ctx: ModelContext,
  opts: CollectOptions,
  layer: FeatureManifest['layer'],
  p: { dim: number; samples: number; images: number; dtype: FeatureDtype; range: [number, number] | undefined },
): Promise<FeatureManifest> {
  const now = new Date().toISOString();
  if (existsSync(`${opts.outDir}/manifest.json`)) {
    const m = await readManifest(opts.outDir);
    const same =
      m.model.sha256 === ctx.loaded.sha256 &&
      m.layer.tensor === layer.tensor &&
      m.dtype === p.dtype &&
      m.dim === p.dim &&
      m.dataset.source === opts.dataset.source &&
      m.dataset.images === p.images &&
      (opts.seed === undefined || opts.seed === m.seed) &&
      (opts.samplesPerImage === undefined || opts.samplesPerImage === m.samplesPerImage) &&
      String(m.range ?? '') === String(p.range ?? '') &&
      (opts.order === undefined || opts.order === (m.order ?? 'dataset'));
    if (!same) {
      throw new FactError(
        'bad-store',
        `'${opts.outDir}' already holds a feature store for ${m.model.file} layer '${m.layer.name}' (${m.dataset.images} images of ${m.dataset.source}, ${m.dtype}); collect into another folder or delete it.`,
        { file: opts.outDir },
      );
    }
    return m;
  }
  await fs.mkdir(opts.outDir, { recursive: true });
  const m: FeatureManifest = {
    format: 1,
    kind: 'fact-feature-store',
    model: { file: ctx.file, sha256: ctx.loaded.sha256 },
    layer,
    dtype: p.dtype,
    dim: p.dim,
    samplesPerImage: p.samples,
    shardVectors: opts.shardVectors ?? 65536,
    dataset: { source: opts.dataset.source, kind: opts.dataset.kind, images: p.images, classes: opts.dataset.classes },
    seed: opts.seed ?? 0,
    order: opts.order ?? 'shuffled',
    weighting: 'abs-contribution-predicted',
    imagesDone: p.range?.[0] ?? 0,
    vectors: 0,
    complete: false,
    shards: [],
    ...(p.range ? { range: p.range } : {}),
    skipped: [],
    createdAt: now,
    updatedAt: now,
  };
  await writeManifest(opts.outDir, m);
  return m;
}
