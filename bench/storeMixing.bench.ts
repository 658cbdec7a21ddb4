// How mixed training batches are when the dataset is sorted by class (ImageNet's train/<class>/ layout): the mean
// number of distinct classes per batch, read through the real FeatureStore reader, for a store collected in dataset
// order (before) and in the seeded random collection order (now), against a full shuffle of the same rows. The rows
// hold only their class (1-dimensional), so the real layouts fit: the layout issue 17 measured on Fashion-MNIST
// (6,000 images, 196 vectors per image — a 14×14 map with every location kept; batch 4,096), and ImageNet at ResNet-50 layer4 (1,281,167 images of 1,000 classes,
// 18 samples per image, batch 4,096; the first 300 batches of an epoch). Shards of 65,536 vectors, window of 4.
import { rmSync } from 'node:fs';
import { collectionOrder, type CollectionOrder } from '../src/core/features/collectionOrder';
import { FeatureStore } from '../src/core/features/featureStore';
import { ShardWriter } from '../src/core/features/shardWriter';
import { ArrayVectorSource, type VectorSource } from '../src/core/features/vectorSource';
import { newManifest } from '../test/support/featureStores';
import { tempDir } from '../test/support/paths';
import type { BenchRow } from './runOne';

interface Layout {
  label: string;
  classes: number;
  images: number;
  samples: number;
  batch: number;
  batches: number;
}

const layouts: Layout[] = [
  {
    label: 'Fashion-MNIST, 14×14 map (6,000 images, 196 vectors each)',
    classes: 10,
    images: 6000,
    samples: 196,
    batch: 4096,
    batches: Infinity,
  },
  {
    label: 'ImageNet ResNet-50 layer4 (1.28 M images, 18 vectors each)',
    classes: 1000,
    images: 1_281_167,
    samples: 18,
    batch: 4096,
    batches: 300,
  },
];

/** Class of image i in a class-sorted dataset of equal classes. */
const classOf = (l: Layout, i: number) => Math.floor((i * l.classes) / l.images);

async function labelStore(l: Layout, order: CollectionOrder): Promise<string> {
  const dir = tempDir('fact-bench-mix-');
  const m = newManifest({
    model: { file: 'labels', sha256: '0'.repeat(64) },
    layer: { name: 'label', tensor: 'label', shape: [1, 1, 1] },
    dtype: 'float32',
    dim: 1,
    samplesPerImage: l.samples,
    shardVectors: 65536,
    dataset: { source: 'class-sorted', kind: 'folder', images: l.images, classes: [] },
    order,
  });
  const visit = collectionOrder(l.images, 0, order);
  const w = new ShardWriter(dir, m);
  const picks = Array.from({ length: l.samples }, (_, p) => p);
  for (let pos = 0; pos < l.images; pos++)
    await w.addImage(pos, visit[pos]!, new Float32Array(l.samples).fill(classOf(l, visit[pos]!)), picks);
  await w.flush();
  return dir;
}

async function classesPerBatch(source: VectorSource, l: Layout): Promise<{ mean: number; min: number }> {
  let sum = 0,
    n = 0,
    min = Infinity;
  const seen = new Uint8Array(l.classes);
  for await (const b of source.batches({ batchSize: l.batch, epoch: 0, seed: 0 })) {
    if (b.rows < l.batch) continue;
    seen.fill(0);
    let distinct = 0;
    for (let r = 0; r < b.rows; r++) {
      const c = b.data[r]!;
      if (!seen[c]) {
        seen[c] = 1;
        distinct++;
      }
    }
    sum += distinct;
    n++;
    min = Math.min(min, distinct);
    if (n >= l.batches) break;
  }
  return { mean: sum / n, min };
}

export async function run(report: (r: BenchRow) => void): Promise<void> {
  for (const l of layouts) {
    const labels = new Float32Array(l.images * l.samples);
    for (let i = 0; i < l.images; i++) labels.fill(classOf(l, i), i * l.samples, (i + 1) * l.samples);
    const full = await classesPerBatch(new ArrayVectorSource(labels, 1), l);
    for (const order of ['dataset', 'shuffled'] as const) {
      const dir = await labelStore(l, order);
      const got = await classesPerBatch(await FeatureStore.open(dir), l);
      rmSync(dir, { recursive: true, force: true });
      // Not a speed: no ratio column; the full shuffle's figures are in the note.
      report({
        name: `${l.label}: collected in ${order} order`,
        ours: Math.round(got.mean * 100) / 100,
        unit: 'classes per batch',
        note: `fewest ${got.min}; full shuffle ${full.mean.toFixed(2)} (fewest ${full.min}) of ${l.classes}`,
      });
    }
  }
}
