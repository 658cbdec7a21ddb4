// Batches from a class-sorted image folder (ImageNet's train/<class>/ layout) must be as mixed as from a fully
// shuffled store: collection visits images in a seeded random order, so every shard holds every class. Measured
// here on the tiny model: per-batch class diversity against a full shuffle of the same vectors, and the SAE's FVU
// over a few seeds against training on the fully shuffled vectors.
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { openImageFolder } from '../../../src/core/data/imageFolder';
import type { Dataset } from '../../../src/core/data/dataset';
import { Explainer } from '../../../src/core/engine/explainer';
import { collectFeatures } from '../../../src/core/features/collect';
import { FeatureStore } from '../../../src/core/features/featureStore';
import { ArrayVectorSource, type VectorSource } from '../../../src/core/features/vectorSource';
import { openModel } from '../../../src/core/model/modelContext';
import { SaeEncoder } from '../../../src/core/sae/saeEncoder';
import { trainSae } from '../../../src/core/sae/trainer';
import { fixtures, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');
const CLASSES = 10;
const PER_CLASS = 24;
const BATCH = 32;

/** 10 class folders of 24 8×8 images each: a class is a spatial pattern, each image a shifted, brightened copy. */
async function classSortedFolder(): Promise<string> {
  const root = tempDir('fact-sorted-');
  for (let c = 0; c < CLASSES; c++) {
    const dir = path.join(root, `class-${c}`);
    mkdirSync(dir);
    for (let j = 0; j < PER_CLASS; j++) {
      const px = Uint8Array.from({ length: 64 }, (_, p) => {
        const x = p % 8,
          y = Math.floor(p / 8);
        const v = 128 + 90 * Math.sin(x * (0.4 + 0.25 * c) + y * (0.3 * (c % 4)) + j * 0.7) + 4 * ((j * 7 + p) % 5);
        return Math.max(0, Math.min(255, Math.round(v)));
      });
      await sharp(px, { raw: { width: 8, height: 8, channels: 1 } })
        .png()
        .toFile(path.join(dir, `${String(j).padStart(3, '0')}.png`));
    }
  }
  return root;
}

/** Distinct classes per batch over one epoch: mean, and the fewest. */
async function diversity(
  source: VectorSource,
  classOf: (b: { data: Float32Array; images?: Int32Array }, r: number) => number,
  seed: number,
) {
  const counts: number[] = [];
  for await (const b of source.batches({ batchSize: BATCH, epoch: 0, seed, withImages: true })) {
    if (b.rows < BATCH) continue;
    const seen = new Set<number>();
    for (let r = 0; r < b.rows; r++) seen.add(classOf(b, r));
    counts.push(seen.size);
  }
  return { mean: counts.reduce((a, c) => a + c, 0) / counts.length, min: Math.min(...counts) };
}

/** FVU of an SAE over every vector of the store (the same vectors whatever the training order). */
async function fvuOn(weights: Awaited<ReturnType<typeof trainSae>>['weights'], all: Float32Array, dim: number): Promise<number> {
  const enc = await SaeEncoder.create(weights, {});
  const n = all.length / dim;
  const { reconstruction } = await enc.encode(all, n);
  await enc.dispose();
  const mean = new Float64Array(dim);
  for (let i = 0; i < all.length; i++) mean[i % dim]! += all[i]! / n;
  let err = 0,
    total = 0;
  for (let i = 0; i < all.length; i++) {
    err += (all[i]! - reconstruction[i]!) ** 2;
    total += (all[i]! - mean[i % dim]!) ** 2;
  }
  return err / total;
}

/** Every vector of a store, in shard order. */
async function allVectors(store: FeatureStore): Promise<Float32Array> {
  const all = new Float32Array(store.count * store.dim);
  let off = 0;
  for (const s of store.shards) {
    const l = await store.loadShard(s);
    all.set(l.features, off);
    off += l.features.length;
  }
  return all;
}

/** Each vector's class, in shard order (for the fully shuffled reference). */
async function allClasses(store: FeatureStore, dataset: Dataset): Promise<Float32Array> {
  const out: number[] = [];
  for (const s of store.shards) for (const i of (await store.loadShard(s)).image) out.push(dataset.item(i).label);
  return Float32Array.from(out);
}

const SEEDS = [0, 1, 2];

describe('mixing a class-sorted dataset', () => {
  let dataset: Dataset;
  let shuffled: FeatureStore;
  let sorted: FeatureStore;
  before(async () => {
    const ctx = await openModel(tiny);
    const explainer = await Explainer.create(ctx);
    dataset = await openImageFolder(await classSortedFolder(), 'grayscale');
    // 4 samples per image, shards of 96 vectors (24 images): in dataset order a shard holds one class (ImageNet's
    // 65,536-vector shards at ResNet-50 layer4 hold about three of 1,000), and the default window of 4 shards four.
    const common = { layer: 'layer2', dataset, samplesPerImage: 4, shardVectors: 96, batchSize: 16 };
    const a = tempDir('fact-mix-shuffled-');
    const b = tempDir('fact-mix-sorted-');
    await collectFeatures(ctx, explainer, { ...common, outDir: a });
    await collectFeatures(ctx, explainer, { ...common, outDir: b, order: 'dataset' });
    await explainer.dispose();
    shuffled = await FeatureStore.open(a);
    sorted = await FeatureStore.open(b);
  });

  it('gives batches as class-diverse as a fully shuffled store (mean classes per batch within 3 %)', async () => {
    const classOfImage = (b: { images?: Int32Array }, r: number) => dataset.item(b.images![r]!).label;
    const full = new ArrayVectorSource(await allClasses(shuffled, dataset), 1);
    const sum = { reference: 0, mixed: 0, old: 0 };
    for (const seed of SEEDS) {
      const reference = await diversity(full, (b, r) => b.data[r]!, seed);
      const mixed = await diversity(shuffled, classOfImage, seed);
      const old = await diversity(sorted, classOfImage, seed);
      sum.reference += reference.mean;
      sum.mixed += mixed.mean;
      sum.old += old.mean;
      console.log(
        `seed ${seed}: classes per batch of ${BATCH}: full shuffle ${reference.mean.toFixed(2)} (min ${reference.min}), shuffled collection ${mixed.mean.toFixed(2)} (min ${mixed.min}), dataset order ${old.mean.toFixed(2)} (min ${old.min})`,
      );
      assert.ok(
        mixed.min >= reference.min - 1,
        `seed ${seed}: the least mixed batch has ${mixed.min} classes, a full shuffle's ${reference.min}`,
      );
    }
    assert.ok(
      sum.mixed >= 0.97 * sum.reference,
      `shuffled collection: ${(sum.mixed / SEEDS.length).toFixed(2)} classes per batch, full shuffle ${(sum.reference / SEEDS.length).toFixed(2)}`,
    );
    // The test sees the problem it guards against: collected in dataset order, batches hold a few classes.
    assert.ok(sum.old < 0.5 * sum.reference, `dataset order: ${(sum.old / SEEDS.length).toFixed(2)} classes per batch`);
  });

  it('trains an SAE as good as on fully shuffled vectors', async () => {
    const all = await allVectors(shuffled);
    const full = new ArrayVectorSource(all, shuffled.dim);
    const settings = {
      k: 2,
      dictSize: 32,
      layer: 'layer2',
      modelSha256: shuffled.manifest.model.sha256,
      batchSize: BATCH,
      epochs: 3,
      lr: 4e-3,
    };
    const runs: Record<string, number[]> = { full: [], shuffled: [], sorted: [] };
    for (const seed of SEEDS) {
      for (const [name, source] of [
        ['full', full],
        ['shuffled', shuffled],
        ['sorted', sorted],
      ] as const) {
        const r = await trainSae(source, { ...settings, seed }, { checkpointDir: tempDir('fact-mix-sae-'), threads: 1 });
        runs[name]!.push(await fvuOn(r.weights, all, shuffled.dim));
      }
    }
    const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
    const sd = (v: number[]) => Math.sqrt(v.reduce((x, y) => x + (y - mean(v)) ** 2, 0) / (v.length - 1));
    console.log(
      `FVU over all vectors, seeds ${SEEDS.join(', ')}: ${Object.entries(runs)
        .map(([k, v]) => `${k} ${mean(v).toFixed(4)} ± ${sd(v).toFixed(4)} [${v.map((x) => x.toFixed(4)).join(', ')}]`)
        .join('; ')}`,
    );
    // Within noise: the mean FVU differs from the full shuffle's by less than one between-seed standard deviation.
    assert.ok(
      Math.abs(mean(runs.shuffled!) - mean(runs.full!)) <= sd(runs.full!),
      `FVU ${mean(runs.shuffled!)} against ${mean(runs.full!)} ± ${sd(runs.full!)}`,
    );
  });
});
