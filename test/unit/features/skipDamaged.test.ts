// `--skip-damaged`: a shard damaged after the store was opened is found when training first reads it and skipped then
// (reported once, its rows left out of their batches), without changing the epoch's batches otherwise, so a resumed
// run (which finds the same shard damaged when it loads the same window) trains exactly as an uninterrupted one.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FeatureStore } from '../../../src/core/features/featureStore';
import type { FeatureManifest } from '../../../src/core/features/manifest';
import { permutation, type VectorBatch } from '../../../src/core/features/vectorSource';
import type { TrainProgress } from '../../../src/core/sae/trainer';
import { trainSae } from '../../../src/core/sae/trainer';
import { tempDir } from '../../support/paths';
import { syntheticStore } from '../../support/featureStores';

const BATCH = 7;
const SEED = 2;

/** Flips one byte of the shard's data: its checksum no longer matches. */
function damage(dir: string, file: string): void {
  const bytes = readFileSync(path.join(dir, file));
  bytes[bytes.length - 5]! ^= 0x40;
  writeFileSync(path.join(dir, file), bytes);
}

/** The shard of the last window of epoch 0 (windows of 2 shards): read only after training has begun. */
function lastShard(m: FeatureManifest, seed: number): string {
  const order = permutation(m.shards.length, seed * 1000);
  return m.shards[order[order.length - 1]!]!.file;
}

/** The image each row came from (every value of image i lies in [i, i + 1)). */
const imagesOf = (b: VectorBatch) => Array.from({ length: b.rows }, (_, r) => Math.floor(b.data[r * 4]!));

describe('skipping damaged shards', () => {
  it('skips a shard damaged after the store opened, when it is first read; batches keep their places, a resume gives the same ones', async () => {
    const { dir, m } = await syntheticStore();
    const skipped: [string, string][] = [];
    const store = await FeatureStore.open(dir, { window: 2, onBadShard: 'skip', onSkip: (s, why) => skipped.push([s, why]) });
    const bad = lastShard(m, SEED);
    const badImages = new Set((await store.loadShard(m.shards.find((s) => s.file === bad)!)).image);
    const epoch: VectorBatch[] = [];
    for await (const b of store.batches({ batchSize: BATCH, epoch: 0, seed: SEED })) {
      if (epoch.length === 0) damage(dir, bad); // opened, first batch given: the last window is not loaded yet
      epoch.push({ ...b, data: Float32Array.from(b.data) });
    }
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]![0], bad);
    assert.match(
      skipped[0]![1],
      new RegExp(`Shard '.*${bad.replace('.', '\\.')}' has a wrong checksum .*damaged or changed after collection`),
    );
    assert.equal(epoch.length, store.batchCount(BATCH), 'as many batches as the manifest gives');
    const seen = epoch.flatMap(imagesOf);
    assert.equal(seen.length, 50, "every vector but the damaged shard's 10");
    assert.ok(!seen.some((i) => badImages.has(i)), 'no row of the damaged shard');
    for (let i = 0; i < 30; i++)
      if (!badImages.has(i)) assert.equal(seen.filter((j) => j === i).length, 2, `image ${i}: both of its vectors, once`);
    // The batches before the damaged shard's window are full; the skipped rows only shorten batches of its window.
    assert.ok(epoch.slice(0, 5).every((b) => b.rows === BATCH));
    // A resume from batch 5 (a fresh process: the damage is found again when that window loads) gives the same batches.
    const resumedSkips: string[] = [];
    const again = await FeatureStore.open(dir, { window: 2, onBadShard: 'skip', onSkip: (s) => resumedSkips.push(s) });
    const resumed: VectorBatch[] = [];
    for await (const b of again.batches({ batchSize: BATCH, epoch: 0, seed: SEED, startBatch: 5 }))
      resumed.push({ ...b, data: Float32Array.from(b.data) });
    assert.deepEqual(resumed, epoch.slice(5));
    assert.deepEqual(resumedSkips, [bad]);
    // The next epoch leaves it out without reading it again and without reporting it again.
    let rows = 0;
    for await (const b of store.batches({ batchSize: BATCH, epoch: 1, seed: SEED })) rows += b.rows;
    assert.equal(rows, 50);
    assert.equal(skipped.length, 1);
    // Without the option the same damage stops training, naming the shard.
    const strict = await FeatureStore.open(dir, { window: 2 });
    await assert.rejects(
      async () => {
        for await (const _ of strict.batches({ batchSize: BATCH, epoch: 0, seed: SEED }));
      },
      new RegExp(`${bad.replace('.', '\\.')}' has a wrong checksum .*Run again with the option to skip damaged shards`),
    );
  });

  it('a shard missing when the store opens is skipped the same way; a store with none left is refused', async () => {
    const { dir, m } = await syntheticStore();
    const gone = m.shards[3]!.file;
    rmSync(path.join(dir, gone));
    const skipped: string[] = [];
    const store = await FeatureStore.open(dir, { window: 2, onBadShard: 'skip', onSkip: (s, why) => skipped.push(`${s}: ${why}`) });
    assert.deepEqual(skipped, [`${gone}: Shard '${path.join(dir, gone)}' is missing.`]);
    assert.equal(store.batchCount(BATCH), 9, 'the layout is the manifest’s');
    let rows = 0;
    for await (const b of store.batches({ batchSize: BATCH, epoch: 0, seed: SEED })) rows += b.rows;
    assert.equal(rows, 50);
    await assert.rejects(
      FeatureStore.open(dir, { window: 2 }),
      /shard-00003\.safetensors' is missing\. Run again with the option to skip damaged shards/,
    );
    // Every other shard damaged after opening: training stops when it finds none left, rather than train on nothing.
    for (const s of m.shards) if (s.file !== gone) damage(dir, s.file);
    await assert.rejects(async () => {
      for await (const _ of store.batches({ batchSize: BATCH, epoch: 1, seed: SEED }));
    }, /has no usable shards/);
    for (const s of m.shards) rmSync(path.join(dir, s.file), { force: true });
    await assert.rejects(FeatureStore.open(dir, { onBadShard: 'skip' }), /has no usable shards/);
  });

  it('trains through a shard damaged mid-run; a run stopped after it and resumed ends with the same weights', async () => {
    const settings = { k: 1, dictSize: 8, layer: 'l', modelSha256: 'a'.repeat(64), batchSize: BATCH, epochs: 2, lr: 1e-2, seed: SEED };
    const skips: string[] = [];
    const train = async (extra: { crashAt?: number; resume?: boolean; checkpointDir: string }, dir: string, bad: string) => {
      const store = await FeatureStore.open(dir, { window: 2, onBadShard: 'skip', onSkip: (s) => skips.push(s) });
      return trainSae(store, settings, {
        checkpointDir: extra.checkpointDir,
        threads: 1,
        stateIntervalMs: 0,
        progressIntervalMs: 0,
        ...(extra.resume ? { resume: true } : {}),
        onProgress: (p: TrainProgress) => {
          if (p.step === 1 && !extra.resume) damage(dir, bad);
          if (p.step === extra.crashAt) throw new Error('simulated crash');
        },
      });
    };
    const a = await syntheticStore();
    const bad = lastShard(a.m, SEED);
    const straight = await train({ checkpointDir: tempDir('fact-skip-sae-') }, a.dir, bad);
    assert.deepEqual(skips, [bad], 'found damaged once, in the first epoch, after training began');
    const b = await syntheticStore();
    const ckpt = tempDir('fact-skip-sae-');
    // Step 8 lies in the damaged shard's window (batches 5–8 of epoch 0): the state saved after step 7 resumes there.
    await assert.rejects(train({ checkpointDir: ckpt, crashAt: 8 }, b.dir, bad), /simulated crash/);
    const resumed = await train({ checkpointDir: ckpt, resume: true }, b.dir, bad);
    assert.ok(resumed.resumed);
    assert.deepEqual(skips, [bad, bad, bad], 'found by the stopped run and again by the resumed one');
    assert.equal(resumed.steps, straight.steps);
    assert.deepEqual(resumed.weights.wEnc, straight.weights.wEnc);
    assert.deepEqual(resumed.weights.wDec, straight.weights.wDec);
  });
});
