// Reading a feature store for training.
//   • Opening: `FeatureStore.open` (now: the manifest and a stat per shard) against hashing every shard, which is what
//     opening cost before (and what `fact verify` does), for stores of 0.15, 0.76 and 3 GB (default layer3 shape,
//     d = 128, float32, 65,536-vector shards; written here, so read from a warm page cache).
//   • Training throughput fed from the store against fed from an in-memory array of the same vectors, through the
//     training step the trainer runs (same loop: scale, step), timed in the steady state of the prefetch pipeline:
//     from the end of the first step (the first window loaded, the graphs planned) to the end of the last step of
//     the N-th window, so every timed step ran while the next window was being read, hashed and decoded, and the
//     loads of N windows (less the first) fall inside the timing. The store's first read hashes every shard it
//     loads (no memo), as a first training does. Shapes: the default (d = 128, 1,024 latents, k = 8, batch 4,096;
//     65,536-vector shards, a 3 GB store) and FaCT's ResNet-50 layer4 (d = 2,048, 16,384 latents, k = 16, batch
//     1,024). A layer4 step takes seconds to tens of seconds here and a default 537 MB shard lasts 64 steps, so its
//     store has shards of 1,024 vectors (8.4 MB, 4 steps per window of 4): loading costs the same per vector whatever
//     the shard size, so the fraction of time it takes is the same, in whole windows that fit in minutes.
//     Beside vectors/s: CPU seconds per 1,000 vectors (process-wide, onnxruntime's threads included) and how long the
//     trainer waited for a batch (time from a step's end to the next batch: nonzero when the prefetch fell behind).
// FACT_BENCH_STORE_GB (e.g. "0.15,0.76,3") changes the sizes opened; FACT_BENCH_STORE_WINDOWS ("4,3": default, layer4)
// the windows timed; FACT_BENCH_STORE_LAYER4_SHARD (1024) the layer4 shard size; FACT_BENCH_STORE_LAYER4=0 leaves
// out the layer4 shape, FACT_BENCH_STORE_DEFAULT=0 the default shape.
import { rmSync } from 'node:fs';
import * as os from 'node:os';
import { FeatureStore } from '../src/core/features/featureStore';
import { ShardWriter } from '../src/core/features/shardWriter';
import { ArrayVectorSource, type VectorSource } from '../src/core/features/vectorSource';
import { verifyStore } from '../src/core/features/verifyStore';
import { initialState } from '../src/core/sae/initialWeights';
import { TrainStepSession } from '../src/core/sae/trainStepSession';
import { mulberry32 } from '../src/core/util/random';
import { newManifest } from '../test/support/featureStores';
import { tempDir } from '../test/support/paths';
import type { BenchRow } from './runOne';

const sizes = (process.env.FACT_BENCH_STORE_GB ?? '0.15,0.76,3').split(',').map(Number);
const [defaultWindows, layer4Windows] = (process.env.FACT_BENCH_STORE_WINDOWS ?? '4,3').split(',').map(Number) as [number, number];
const layer4Shard = Number(process.env.FACT_BENCH_STORE_LAYER4_SHARD ?? 1024);
/** Shards per window: the reader's default. */
const WINDOW = 4;

/** A complete float32 store of about `gb` GB of random d-dimensional vectors (16 per image), as collection writes it. */
export async function randomStore(gb: number, d: number, shardVectors = 65536): Promise<string> {
  const dir = tempDir('fact-bench-store-');
  const perImage = 16;
  const images = Math.ceil((gb * 1e9) / ((d * 4 + 8) * perImage));
  const m = newManifest({
    model: { file: 'random', sha256: '0'.repeat(64) },
    layer: { name: 'random', tensor: 'random', shape: [d, 4, 4] },
    dtype: 'float32',
    dim: d,
    samplesPerImage: perImage,
    shardVectors,
    dataset: { source: 'random', kind: 'folder', images, classes: [] },
  });
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
  /** Vectors per shard of its store. */
  shard: number;
  /** Windows timed. */
  windows: number;
}

/** Steps in the timing: the first window's after its first step, and every step of the next windows. */
const timedSteps = (s: Shape) => Math.floor((s.windows * WINDOW * s.shard) / s.B) - 1;

interface Throughput {
  vps: number;
  /** Seconds to the end of the first step (the first window loaded; the graphs planned). */
  firstStep: number;
  /** CPU seconds (all threads) per 1,000 vectors in the timing. */
  cpuPerK: number;
  /** Seconds the trainer waited for its next batch in the timing. */
  waited: number;
}

/** Vectors per second over the timed steps (after the first, which plans the graph). */
async function throughput(source: VectorSource, s: Shape): Promise<Throughput> {
  const session = await TrainStepSession.open(
    { dModel: s.d, dictSize: s.K, k: s.k, auxK: false, auxkMax: 256, auxkCoef: 1 / 32, clipNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    { threads: 2 },
  );
  let state = initialState(s.d, s.K, 0);
  const x = new Float32Array(s.B * s.d);
  const t0 = performance.now();
  const want = timedSteps(s);
  let firstStep = 0,
    t1 = 0,
    cpu0 = process.cpuUsage(),
    steps = 0,
    waited = 0,
    stepEnd = 0;
  for await (const b of source.batches({ batchSize: s.B, epoch: 0, seed: 0 })) {
    if (steps > 0) waited += (performance.now() - stepEnd) / 1000;
    for (let i = 0; i < x.length; i++) x[i] = b.data[i]!;
    state = (await session.run({ x, batch: b.rows, state, lr: 1e-4 })).state;
    stepEnd = performance.now();
    if (steps === 0) {
      firstStep = (stepEnd - t0) / 1000;
      t1 = stepEnd;
      cpu0 = process.cpuUsage();
      waited = 0;
    }
    if (++steps > want) break;
  }
  if (steps <= want) throw new Error(`the source gave ${steps} batches; the timing needs ${want + 1}`);
  const seconds = (performance.now() - t1) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await session.dispose();
  return { vps: (want * s.B) / seconds, firstStep, cpuPerK: (cpu.user + cpu.system) / 1e6 / ((want * s.B) / 1000), waited };
}

/** In memory: the vectors the timed steps use (as many as the store yields for them), not the whole store a second time. */
async function firstRows(store: FeatureStore, s: Shape): Promise<ArrayVectorSource> {
  const first = new Float32Array((timedSteps(s) + 2) * s.B * s.d);
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

/** Store-fed against memory-fed over whole windows of one store (memory first: the store's shards are then hashed by
 *  the store-fed run itself, as a first training does, from a warm page cache in both). */
async function compare(dir: string, s: Shape, gb: string, report: (r: BenchRow) => void): Promise<void> {
  const fromMemory = await throughput(await firstRows(await FeatureStore.open(dir), s), s);
  const fromStore = await throughput(await FeatureStore.open(dir), s);
  report({
    name: `train ${s.label} from a ${gb} GB store, ${s.windows} windows`,
    ours: fromStore.vps,
    reference: fromMemory.vps,
    referenceName: 'from an in-memory array',
    unit: 'vectors/s',
    note:
      `${timedSteps(s)} steps timed; shards of ${s.shard}; CPU s per 1k vectors ${fromStore.cpuPerK.toPrecision(3)} ` +
      `(memory ${fromMemory.cpuPerK.toPrecision(3)}); waited for batches ${fromStore.waited.toFixed(2)} s ` +
      `(memory ${fromMemory.waited.toFixed(2)} s); first step after ${fromStore.firstStep.toFixed(1)} s ` +
      `(memory ${fromMemory.firstStep.toFixed(1)} s); load avg ${os.loadavg()[0]!.toFixed(1)}`,
  });
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
      const s: Shape = { label: 'default d=128 K=1024 k=8 B=4096', d: 128, K: 1024, k: 8, B: 4096, shard: 65536, windows: defaultWindows };
      await compare(dir, s, String(gb), report);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  if (process.env.FACT_BENCH_STORE_LAYER4 === '0') return;
  const s: Shape = {
    label: 'ResNet-50 layer4 d=2048 K=16384 k=16 B=1024',
    d: 2048,
    K: 16384,
    k: 16,
    B: 1024,
    shard: layer4Shard,
    windows: layer4Windows,
  };
  // One window more than timed: the last timed window trains while the next loads, like every other.
  const gb = ((s.windows + 1) * WINDOW * s.shard * (s.d * 4 + 8)) / 1e9;
  const dir = await randomStore(gb, s.d, s.shard);
  await compare(dir, s, gb.toFixed(2), report);
  rmSync(dir, { recursive: true, force: true });
}
