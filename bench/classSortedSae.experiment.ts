// Issue 17's experiment on the default model: does the order a class-sorted image folder is collected in change the
// SAE? A folder of 6,000 Fashion-MNIST training images sorted by class (class-0/ … class-9/, 600 each, like
// ImageNet's train/<class>/), collected at layer3 with every location kept (49 per image: 294,000 vectors of 128)
// twice — in dataset order (`--order dataset`, as collection worked before) and in the seeded shuffled order (the
// default now) — and the same vectors fully shuffled in memory. Shards of 16,384 vectors (18 of them, each 1/18 of the
// data, as the 65,536-vector shards of 1.18 M vectors; in dataset order a window of 4 holds 2–3 classes).
// For each seed: distinct classes per batch over epoch 0, and the test FVU (over the layer3 vectors of the first
// 2,000 test images) of the default SAE (k 8, 1,024 latents, batch 4,096, 2 threads) trained on each. Reports the
// mean ± sd over seeds. Not a speed, and minutes per seed, so `npm run bench` runs it only when named: `npm run bench -- classSortedSae`.
// FACT_BENCH_SEEDS (5) and FACT_BENCH_EPOCHS (5) change the seeds and epochs; FACT_BENCH_JSON_OUT writes every run.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { openDataset } from '../src/core/data/openDataset';
import { openImageFolder } from '../src/core/data/imageFolder';
import { readIdxFile } from '../src/core/data/idx';
import type { Dataset } from '../src/core/data/dataset';
import { Explainer } from '../src/core/engine/explainer';
import { collectFeatures } from '../src/core/features/collect';
import { FeatureStore } from '../src/core/features/featureStore';
import { ArrayVectorSource, type VectorSource } from '../src/core/features/vectorSource';
import { openModel } from '../src/core/model/modelContext';
import { SaeEncoder } from '../src/core/sae/saeEncoder';
import { trainSae } from '../src/core/sae/trainer';
import { tempDir } from '../test/support/paths';
import type { BenchRow } from './runOne';

const modelDir = path.join(__dirname, '..', 'models', 'fashion-mnist-bcos');
const SEEDS = Number(process.env.FACT_BENCH_SEEDS ?? 5);
const EPOCHS = Number(process.env.FACT_BENCH_EPOCHS ?? 5);
const PER_CLASS = 600;
const CLASSES = 10;
const BATCH = 4096;
const LAYER = 'layer3';
const SHARD = 16384;
const TEST_IMAGES = 2000;

/** class-c/NNNN.png for the first PER_CLASS training images of each class (dataset order = class order). */
async function classSortedFolder(): Promise<string> {
  const images = await readIdxFile(path.join(modelDir, 'data', 'train-subset-images-idx3-ubyte.gz'));
  const labels = await readIdxFile(path.join(modelDir, 'data', 'train-subset-labels-idx1-ubyte.gz'));
  const root = tempDir('fact-class-sorted-');
  const taken = new Array<number>(CLASSES).fill(0);
  for (let c = 0; c < CLASSES; c++) mkdirSync(path.join(root, `class-${c}`));
  for (let i = 0; i < labels.data.length; i++) {
    const c = labels.data[i]!;
    if (taken[c]! >= PER_CLASS) continue;
    const px = Uint8Array.from(images.data.subarray(i * 784, (i + 1) * 784));
    await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(path.join(root, `class-${c}`, `${String(taken[c]).padStart(4, '0')}.png`));
    taken[c]!++;
  }
  if (taken.some((t) => t < PER_CLASS)) throw new Error(`the training subset has fewer than ${PER_CLASS} images of some class`);
  return root;
}

/** Every vector of a store, in shard order, with each vector's image index. */
async function allVectors(store: FeatureStore): Promise<{ features: Float32Array; images: Int32Array }> {
  const features = new Float32Array(store.count * store.dim);
  const images = new Int32Array(store.count);
  let row = 0;
  for (const s of store.shards) {
    const l = await store.loadShard(s);
    features.set(l.features, row * store.dim);
    images.set(l.image, row);
    row += l.vectors;
  }
  return { features, images };
}

/** Mean and fewest distinct classes per full batch of epoch 0. */
async function diversity(
  source: VectorSource,
  classOf: (b: { data: Float32Array; images?: Int32Array }, r: number) => number,
  seed: number,
) {
  let sum = 0,
    n = 0,
    min = Infinity;
  for await (const b of source.batches({ batchSize: BATCH, epoch: 0, seed, withImages: true })) {
    if (b.rows < BATCH) continue;
    const seen = new Set<number>();
    for (let r = 0; r < b.rows; r++) seen.add(classOf(b, r));
    sum += seen.size;
    n++;
    min = Math.min(min, seen.size);
  }
  return { mean: sum / n, min };
}

/** Σ‖x − x̂‖² / Σ‖x − x̄‖² over the test vectors. */
async function fvu(weights: Awaited<ReturnType<typeof trainSae>>['weights'], test: Float32Array, dim: number): Promise<number> {
  const enc = await SaeEncoder.create(weights, {});
  const n = test.length / dim;
  let err = 0;
  for (let first = 0; first < n; first += 8192) {
    const rows = Math.min(8192, n - first);
    const x = test.subarray(first * dim, (first + rows) * dim);
    const { reconstruction } = await enc.encode(x, rows);
    for (let i = 0; i < x.length; i++) err += (x[i]! - reconstruction[i]!) ** 2;
  }
  await enc.dispose();
  const mean = new Float64Array(dim);
  for (let i = 0; i < test.length; i++) mean[i % dim]! += test[i]! / n;
  let total = 0;
  for (let i = 0; i < test.length; i++) total += (test[i]! - mean[i % dim]!) ** 2;
  return err / total;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: number[]) => (v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1)));
const pm = (v: number[], digits: number) => `${mean(v).toFixed(digits)} ± ${sd(v).toFixed(digits)}`;

export async function run(report: (r: BenchRow) => void): Promise<void> {
  const t0 = performance.now();
  const ctx = await openModel(path.join(modelDir, 'model.onnx'));
  const explainer = await Explainer.create(ctx);
  const folder = await classSortedFolder();
  const dataset: Dataset = await openImageFolder(folder, 'grayscale');
  const common = { layer: LAYER, dataset, samplesPerImage: 49, shardVectors: SHARD };
  const stores: Record<'dataset' | 'shuffled', string> = {
    dataset: tempDir('fact-sorted-dataset-'),
    shuffled: tempDir('fact-sorted-shuffled-'),
  };
  await collectFeatures(ctx, explainer, { ...common, outDir: stores.dataset, order: 'dataset' });
  await collectFeatures(ctx, explainer, { ...common, outDir: stores.shuffled, order: 'shuffled' });
  const testDir = tempDir('fact-sorted-test-');
  await collectFeatures(ctx, explainer, {
    layer: LAYER,
    dataset: await openDataset(ctx, { kind: 'split', split: 'test' }),
    samplesPerImage: 49,
    limit: TEST_IMAGES,
    outDir: testDir,
  });
  await explainer.dispose();
  const collected = (performance.now() - t0) / 1000;
  const sorted = await FeatureStore.open(stores.dataset);
  const shuffled = await FeatureStore.open(stores.shuffled);
  const test = (await allVectors(await FeatureStore.open(testDir))).features;
  const all = await allVectors(shuffled);
  const full = new ArrayVectorSource(all.features, shuffled.dim);
  const fullClasses = new ArrayVectorSource(
    Float32Array.from(all.images, (i) => dataset.item(i).label),
    1,
  );
  const classOfImage = (b: { images?: Int32Array }, r: number) => dataset.item(b.images![r]!).label;
  console.log(
    `collected ${shuffled.count} vectors of ${shuffled.dim} in ${shuffled.shards.length} shards (twice) and ${test.length / shuffled.dim} test vectors in ${collected.toFixed(0)} s`,
  );

  const orders = ['dataset order', 'shuffled collection', 'full shuffle'] as const;
  const sources: Record<(typeof orders)[number], VectorSource> = {
    'dataset order': sorted,
    'shuffled collection': shuffled,
    'full shuffle': full,
  };
  const runs = Object.fromEntries(
    orders.map((o) => [
      o,
      { classes: [] as number[], fewest: [] as number[], fvu: [] as number[], trainFvu: [] as number[], seconds: [] as number[] },
    ]),
  );
  for (let seed = 0; seed < SEEDS; seed++) {
    for (const o of orders) {
      const d =
        o === 'full shuffle' ? await diversity(fullClasses, (b, r) => b.data[r]!, seed) : await diversity(sources[o], classOfImage, seed);
      const t = performance.now();
      const checkpointDir = tempDir('fact-sorted-sae-');
      const r = await trainSae(
        sources[o],
        {
          k: 8,
          dictSize: 1024,
          layer: LAYER,
          modelSha256: shuffled.manifest.model.sha256,
          batchSize: BATCH,
          epochs: EPOCHS,
          seed,
          validateEvery: 0,
        },
        { checkpointDir, threads: 2 },
      );
      const run = runs[o]!;
      run.classes.push(d.mean);
      run.fewest.push(d.min);
      run.fvu.push(await fvu(r.weights, test, shuffled.dim));
      run.trainFvu.push(r.finalMetrics.fvu);
      run.seconds.push((performance.now() - t) / 1000);
      rmSync(checkpointDir, { recursive: true, force: true });
      console.log(
        `seed ${seed} ${o}: classes per batch ${d.mean.toFixed(2)} (fewest ${d.min}); test FVU ${run.fvu.at(-1)!.toFixed(4)}; last-epoch training FVU ${r.finalMetrics.fvu.toFixed(4)}; ${run.seconds.at(-1)!.toFixed(0)} s; load ${os.loadavg()[0]!.toFixed(1)}`,
      );
    }
  }
  for (const o of orders) {
    const run = runs[o]!;
    report({
      name: `${o}: classes per batch of ${BATCH}`,
      ours: mean(run.classes),
      unit: `of ${CLASSES}`,
      note: `${pm(run.classes, 2)}; fewest ${Math.min(...run.fewest)}; ${SEEDS} seeds`,
    });
    report({
      name: `${o}: SAE test FVU`,
      ours: mean(run.fvu),
      unit: 'FVU',
      note: `${pm(run.fvu, 4)} over ${SEEDS} seeds [${run.fvu.map((x) => x.toFixed(4)).join(', ')}]; last-epoch training FVU ${pm(run.trainFvu, 4)}; ${EPOCHS} epochs; ${mean(run.seconds).toFixed(0)} s a run`,
    });
  }
  if (process.env.FACT_BENCH_JSON_OUT)
    writeFileSync(process.env.FACT_BENCH_JSON_OUT, `${JSON.stringify({ seeds: SEEDS, epochs: EPOCHS, runs }, null, 1)}\n`);
  for (const dir of [folder, testDir, ...Object.values(stores)]) rmSync(dir, { recursive: true, force: true });
}
