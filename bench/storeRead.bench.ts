// Reading a feature store for training.
//   • Opening: `FeatureStore.open` (now: the manifest and a stat per shard) against hashing every shard, which is what
//     opening cost before (and what `fact verify` does), for stores of 0.15, 0.76 and 3 GB (default layer3 shape,
//     d = 128, float32, 65,536-vector shards; written here, so read from a warm page cache).
//   • Training throughput fed from the store against fed from an in-memory array of the same vectors, through the
//     training step the trainer runs (same loop: scale, step), at the default shape (d = 128, 1,024 latents, k = 8,
//     batch 4,096) and FaCT's ResNet-50 layer4 shape (d = 2,048, 16,384 latents, k = 16, batch 1,024), each from a
//     3 GB store. The store's first read hashes every shard it loads (no memo), as a first training does.
// FACT_BENCH_STORE_GB (e.g. "0.15,0.76,3") and FACT_BENCH_STORE_STEPS ("200,20") change the sizes and step counts;
// FACT_BENCH_STORE_LAYER4=0 leaves out the layer4 shape (a step takes tens of seconds on a loaded 2-core machine),
// FACT_BENCH_STORE_DEFAULT=0 the default shape.
import { rmSync } from 'node:fs';
import { FeatureStore } from '../src/core/features/featureStore';
import type { FeatureManifest } from '../src/core/features/manifest';
import { ShardWriter } from '../src/core/features/shardWriter';
import { ArrayVectorSource, type VectorSource } from '../src/core/features/vectorSource';
import { verifyStore } from '../src/core/features/verifyStore';
import { initialState } from '../src/core/sae/initialWeights';
import { TrainStepSession } from '../src/core/sae/trainStepSession';
import { mulberry32 } from '../src/core/util/random';
import { tempDir } from '../test/support/paths';
import type { BenchRow } from './runOne';

const sizes = (process.env.FACT_BENCH_STORE_GB ?? '0.15,0.76,3').split(',').map(Number);
const [defaultSteps, layer4Steps] = (process.env.FACT_BENCH_STORE_STEPS ?? '200,20').split(',').map(Number) as [number, number];

/** A complete float32 store of about `gb` GB of random d-dimensional vectors (16 per image), as collection writes it. */
export async function randomStore(gb: number, d: number): Promise<string> {
  const dir = tempDir('fact-bench-store-');
  const now = new Date().toISOString();
  const perImage = 16;
  const images = Math.ceil((gb * 1e9) / ((d * 4 + 8) * perImage));
  const m: FeatureManifest = {
    format: 1,
    kind: 'fact-feature-store',
    model: { file: 'random', sha256: '0'.repeat(64) },
    layer: { name: 'random', tensor: 'random', shape: [d, 4, 4] },
    dtype: 'float32',
    dim: d,
    samplesPerImage: perImage,
    shardVectors: 65536,
    dataset: { source: 'random', kind: 'folder', images, classes: [] },
    seed: 0,
    order: 'shuffled',
    weighting: 'abs-contribution-predicted',
    imagesDone: 0,
    vectors: 0,
    complete: false,
    shards: [],
    skipped: [],
    createdAt: now,
    updatedAt: now,
  };
  const w = new ShardWriter(dir, m);
  const next = mulberry32(1);
  const picks = Array.from({ length: perImage }, (_, p) => p);
  for (let i = 0; i < images; i++) {
    const rows = new Float32Array(perImage * d);
    for (let j = 0; j < rows.length; j++) rows[j] = next() / 2 ** 31 - 1;
    await w.addImage(i, i, rows, picks);
  }
  await w.flush();
  return dir;
}

interface Shape {
  label: string;
  d: number;
  K: number;
  k: number;
  B: number;
  steps: number;
}

/** Vectors per second over `steps` steps after the first (which plans the graph), and the seconds to the first step. */
async function throughput(source: VectorSource, s: Shape): Promise<{ vps: number; firstStep: number }> {
  const session = await TrainStepSession.open(
    { dModel: s.d, dictSize: s.K, k: s.k, auxK: false, auxkMax: 256, auxkCoef: 1 / 32, clipNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    { threads: 2 },
  );
  let state = initialState(s.d, s.K, 0);
  const x = new Float32Array(s.B * s.d);
  const t0 = performance.now();
  let firstStep = 0,
    t1 = 0,
    steps = 0;
  for await (const b of source.batches({ batchSize: s.B, epoch: 0, seed: 0 })) {
    for (let i = 0; i < x.length; i++) x[i] = b.data[i]!;
    state = (await session.run({ x, batch: b.rows, state, lr: 1e-4 })).state;
    if (steps === 0) {
      firstStep = (performance.now() - t0) / 1000;
      t1 = performance.now();
    }
    if (++steps > s.steps) break;
  }
  const vps = ((steps - 1) * s.B) / ((performance.now() - t1) / 1000);
  await session.dispose();
  return { vps, firstStep };
}

/** In memory: the vectors `steps` steps use (as many as the store yields for them), not the whole store a second time. */
async function firstRows(store: FeatureStore, s: Shape): Promise<ArrayVectorSource> {
  const first = new Float32Array((s.steps + 2) * s.B * s.d);
  let off = 0;
  for (const sh of store.shards) {
    if (off >= first.length) break;
    const l = await store.loadShard(sh);
    const n = Math.min(l.features.length, first.length - off);
    first.set(l.features.subarray(0, n), off);
    off += n;
  }
  return new ArrayVectorSource(first, s.d);
}

export async function run(report: (r: BenchRow) => void): Promise<void> {
  for (const gb of sizes) {
    const dir = await randomStore(gb, 128);
    const t0 = performance.now();
    const store = await FeatureStore.open(dir);
    const open = (performance.now() - t0) / 1000;
    const full = await verifyStore(dir);
    report({
      name: `open a ${(full.bytes / 1e9).toFixed(2)} GB store (${store.shards.length} shards)`,
      ours: open * 1000,
      reference: full.seconds * 1000,
      referenceName: 'hash every shard (open before; fact verify)',
      unit: 'ms',
      note: `hashing: ${(full.bytes / 1e9 / full.seconds).toFixed(2)} GB/s`,
    });
    if (gb === Math.max(...sizes) && process.env.FACT_BENCH_STORE_DEFAULT !== '0') {
      const s: Shape = { label: 'default d=128 K=1024 k=8 B=4096', d: 128, K: 1024, k: 8, B: 4096, steps: defaultSteps };
      const fromStore = await throughput(await FeatureStore.open(dir), s);
      const fromMemory = await throughput(await firstRows(store, s), s);
      report({
        name: `train ${s.label} from a ${gb} GB store`,
        ours: fromStore.vps,
        reference: fromMemory.vps,
        referenceName: 'from an in-memory array',
        unit: 'vectors/s',
        note: `first step after ${fromStore.firstStep.toFixed(1)} s (memory: ${fromMemory.firstStep.toFixed(1)} s)`,
      });
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const gb = Math.max(...sizes);
  const s: Shape = { label: 'ResNet-50 layer4 d=2048 K=16384 k=16 B=1024', d: 2048, K: 16384, k: 16, B: 1024, steps: layer4Steps };
  if (process.env.FACT_BENCH_STORE_LAYER4 === '0') return;
  const dir = await randomStore(gb, s.d);
  const fromStore = await throughput(await FeatureStore.open(dir), s);
  const fromMemory = await throughput(await firstRows(await FeatureStore.open(dir), s), s);
  report({
    name: `train ${s.label} from a ${gb} GB store`,
    ours: fromStore.vps,
    reference: fromMemory.vps,
    referenceName: 'from an in-memory array',
    unit: 'vectors/s',
    note: `first step after ${fromStore.firstStep.toFixed(1)} s (memory: ${fromMemory.firstStep.toFixed(1)} s)`,
  });
  rmSync(dir, { recursive: true, force: true });
}
