import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { openImageFolder } from '../../../src/core/data/imageFolder';
import { Explainer } from '../../../src/core/engine/explainer';
import { collectFeatures } from '../../../src/core/features/collect';
import { FeatureStore } from '../../../src/core/features/featureStore';
import { readManifest } from '../../../src/core/features/manifest';
import { sampleLocations } from '../../../src/core/features/sampleLocations';
import { nodeIO } from '../../../src/core/features/shardWriter';
import { permutation } from '../../../src/core/features/vectorSource';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { preprocessImage } from '../../../src/core/data/preprocess';
import { fixtures, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

/** 24 small images in 3 class folders, one of them corrupt. */
async function imageFolder(): Promise<string> {
  const root = tempDir('fact-ds-');
  for (let i = 0; i < 24; i++) {
    const cls = ['a', 'b', 'c'][i % 3]!;
    mkdirSync(path.join(root, cls), { recursive: true });
    const file = path.join(root, cls, `${String(i).padStart(2, '0')}.png`);
    if (i === 7) {
      writeFileSync(file, 'corrupt');
      continue;
    }
    await sharp(
      Uint8Array.from({ length: 64 }, (_, p) => (p * (i + 3) * 13) % 256),
      { raw: { width: 8, height: 8, channels: 1 } },
    )
      .png()
      .toFile(file);
  }
  return root;
}

async function storeRows(dir: string): Promise<{ features: number[]; images: number[]; positions: number[] }> {
  const store = await FeatureStore.open(dir);
  const out = { features: [] as number[], images: [] as number[], positions: [] as number[] };
  for (const s of store.shards) {
    const l = await store.loadShard(s);
    out.features.push(...l.features);
    out.images.push(...l.image);
    out.positions.push(...l.position);
  }
  return out;
}

/** The tiny model's layer2 over the image folder in small shards, collected once without interruption: the store
 *  an interrupted collection must end up equal to. */
async function collectedWhole() {
  const ctx = await openModel(tiny);
  const explainer = await Explainer.create(ctx);
  const dataset = await openImageFolder(await imageFolder(), 'grayscale');
  const base = { layer: 'layer2', dataset, samplesPerImage: 4, shardVectors: 12, batchSize: 3, dtype: 'float16' as const };
  const whole = tempDir('fact-whole-');
  await collectFeatures(ctx, explainer, { ...base, outDir: whole });
  return { ctx, explainer, base, whole };
}

describe('feature collection', () => {
  it('samples locations with probability proportional to the weights, without replacement', () => {
    assert.deepEqual(sampleLocations([0, 5, 0, 0, 2, 0], 2, 1), [1, 4]);
    assert.equal(new Set(sampleLocations([1, 1, 1, 1], 4, 3)).size, 4);
    // First pick frequency ≈ w / Σw.
    const hits = [0, 0, 0];
    for (let s = 0; s < 6000; s++) hits[sampleLocations([1, 2, 3], 1, s)[0]!]!++;
    [1, 2, 3].forEach((w, i) => assert.ok(Math.abs(hits[i]! / 6000 - w / 6) < 0.03, `location ${i}: ${hits[i]! / 6000}`));
  });

  it('collects whole images into checksummed shards, skipping and reporting a corrupt image', async () => {
    const ctx = await openModel(tiny);
    const explainer = await Explainer.create(ctx);
    const dataset = await openImageFolder(await imageFolder(), 'grayscale');
    const out = tempDir('fact-store-');
    const m = await collectFeatures(ctx, explainer, {
      layer: 'layer2',
      dataset,
      outDir: out,
      samplesPerImage: 5,
      shardVectors: 30,
      batchSize: 4,
    });
    assert.equal(m.complete, true);
    assert.equal(m.dim, 8);
    assert.equal(m.vectors, 23 * 5);
    assert.equal(m.skipped.length, 1);
    assert.match(m.skipped[0]!.reason, /Cannot decode the image/);
    assert.ok(m.shards.length >= 3);
    for (const s of m.shards) assert.equal(s.vectors % 5, 0, 'shards hold whole images');
    // Each stored vector is the layer's feature vector at its recorded image and position.
    const rows = await storeRows(out);
    const runner = new ModelRunner();
    const img = await dataset.image(rows.images[7]!);
    const r = await runner.run(ctx, preprocessImage(img, ctx.preprocess), 1, ['layer2']);
    const f = r.outputs.layer2!.data;
    for (let c = 0; c < 8; c++) assert.ok(Math.abs(rows.features[7 * 8 + c]! - f[c * 64 + rows.positions[7]!]!) < 1e-5);
    await runner.dispose();
    await explainer.dispose();
  });

  it("keeps every location in order when the samples cover the map, with the forward pass's features", async () => {
    const ctx = await openModel(tiny);
    const explainer = await Explainer.create(ctx);
    const dataset = await openImageFolder(await imageFolder(), 'grayscale');
    const out = tempDir('fact-store-all-');
    const m = await collectFeatures(ctx, explainer, { layer: 'layer2', dataset, outDir: out, samplesPerImage: 64, batchSize: 4 });
    assert.equal(m.samplesPerImage, 64);
    assert.equal(m.vectors, 23 * 64);
    const rows = await storeRows(out);
    for (let v = 0; v < m.vectors; v++) assert.equal(rows.positions[v], v % 64, `vector ${v}`);
    const runner = new ModelRunner();
    for (const v of [0, 64 * 5 + 17, m.vectors - 1]) {
      const r = await runner.run(ctx, preprocessImage(await dataset.image(rows.images[v]!), ctx.preprocess), 1, ['layer2']);
      const f = r.outputs.layer2!.data;
      for (let c = 0; c < 8; c++)
        assert.ok(Math.abs(rows.features[v * 8 + c]! - f[c * 64 + rows.positions[v]!]!) < 1e-5, `vector ${v}, channel ${c}`);
    }
    await runner.dispose();
    await explainer.dispose();
  });

  it('resumes after a cancel and after a full disk with no duplicated and no lost samples', async () => {
    const { ctx, explainer, base, whole } = await collectedWhole();

    const broken = tempDir('fact-broken-');
    const abort = new AbortController();
    await assert.rejects(
      collectFeatures(ctx, explainer, {
        ...base,
        outDir: broken,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.imagesDone >= 9) abort.abort();
        },
      }),
      /cancelled/,
    );
    let writes = 0;
    const fullDisk = {
      ...nodeIO,
      writeFile: async (f: string, d: readonly Uint8Array[]) => {
        if (++writes === 2) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        return nodeIO.writeFile(f, d);
      },
    };
    await assert.rejects(
      collectFeatures(ctx, explainer, { ...base, outDir: broken, io: fullDisk }),
      (e: Error & { code?: string }) => e.code === 'disk-full' && /intact up to shard \d+/.test(e.message),
    );
    const partial = await readManifest(broken);
    assert.equal(partial.complete, false);
    assert.ok((await FeatureStore.open(broken)).count > 0, 'the store is valid up to its last complete shard');
    await collectFeatures(ctx, explainer, { ...base, outDir: broken });
    assert.deepEqual(await storeRows(broken), await storeRows(whole));
    await explainer.dispose();
  });

  it('a cancel while a shard is written in the background returns once that shard and the manifest listing it are written', async () => {
    const { ctx, explainer, base, whole } = await collectedWhole();
    const out = tempDir('fact-cancel-writing-');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let writing = false;
    const heldWrite = {
      ...nodeIO,
      writeFile: async (f: string, d: readonly Uint8Array[]) => {
        writing = true;
        await gate; // the first shard's write waits until the collection has been cancelled
        return nodeIO.writeFile(f, d);
      },
    };
    const abort = new AbortController();
    await assert.rejects(
      collectFeatures(ctx, explainer, {
        ...base,
        outDir: out,
        io: heldWrite,
        signal: abort.signal,
        onProgress: () => {
          if (!writing || abort.signal.aborted) return;
          abort.abort();
          setImmediate(release); // after the cancel has reached the collection loop
        },
      }),
      /cancelled/,
    );
    const m = await readManifest(out);
    assert.equal(m.shards.length, 1, 'the shard being written when the collection stopped is in the manifest');
    assert.equal(m.imagesDone, m.shards[0]!.images[1]);
    assert.deepEqual(
      readdirSync(out).filter((f) => f.includes('.tmp')),
      [],
    );
    await collectFeatures(ctx, explainer, { ...base, outDir: out });
    assert.deepEqual(await storeRows(out), await storeRows(whole));
    await explainer.dispose();
  });

  it('caps the store at a size budget by lowering the samples per image', async () => {
    const ctx = await openModel(tiny);
    const explainer = await Explainer.create(ctx);
    const dataset = await openImageFolder(await imageFolder(), 'grayscale');
    // 24 images × 2 samples × (8 float32 + 8 bytes of ids) = 1920 bytes.
    const m = await collectFeatures(ctx, explainer, { layer: 'layer2', dataset, outDir: tempDir(), budgetGB: 2000e-9 });
    assert.equal(m.samplesPerImage, 2);
    await assert.rejects(
      collectFeatures(ctx, explainer, { layer: 'layer2', dataset, outDir: tempDir(), budgetGB: 1e-9 }),
      /cannot hold one 8-dimensional float32 vector for each of 24 images/,
    );
    await explainer.dispose();
  });

  it('finds a damaged shard while training reads it (opening reads no shard), or skips it as asked; refuses a store from another model or layer', async () => {
    const ctx = await openModel(tiny);
    const explainer = await Explainer.create(ctx);
    const dataset = await openImageFolder(await imageFolder(), 'grayscale');
    const out = tempDir();
    const m = await collectFeatures(ctx, explainer, { layer: 'layer2', dataset, outDir: out, samplesPerImage: 3, shardVectors: 20 });
    const damaged = m.shards[1]!;
    const file = path.join(out, damaged.file);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 0xff;
    writeFileSync(file, bytes);
    // Opening only locates the shards; the damage shows when the shard is read, after the batches before it.
    const lazy = await FeatureStore.open(out, { window: 1 });
    let before = 0;
    await assert.rejects(
      async () => {
        for await (const _ of lazy.batches({ batchSize: 4, epoch: 0, seed: 1 })) before++;
      },
      (e: Error & { details?: { file?: string } }) =>
        /Shard '.*shard-00001\.safetensors' has a wrong checksum .*Run again with the option to skip damaged shards/.test(e.message) &&
        e.details?.file === file,
    );
    const order = Array.from(permutation(m.shards.length, 1000), (i) => m.shards[i]!);
    const rowsBefore = order.slice(0, order.indexOf(damaged)).reduce((a, s) => a + s.vectors, 0);
    assert.equal(before, Math.floor(rowsBefore / 4), 'every batch before the damaged shard was trained on, none after');
    const skipped: string[] = [];
    const store = await FeatureStore.open(out, { onBadShard: 'skip', onSkip: (s) => skipped.push(s) });
    let rows = 0;
    for await (const b of store.batches({ batchSize: 4, epoch: 0, seed: 1 })) rows += b.rows;
    assert.deepEqual(skipped, [m.shards[1]!.file], 'skipped when read');
    assert.equal(rows, m.vectors - m.shards[1]!.vectors);
    await assert.rejects(FeatureStore.open(out, { expect: { layer: 'layer3' } }), /holds features of layer 'layer2', not 'layer3'/);
    await assert.rejects(FeatureStore.open(out, { expect: { modelSha256: 'f'.repeat(64) } }), /was collected from another model/);
    await assert.rejects(
      collectFeatures(ctx, explainer, { layer: 'layer3', dataset, outDir: out }),
      /already holds a feature store for .* layer 'layer2'/,
    );
    await explainer.dispose();
  });

  it('streams shuffled batches with bounded memory, the same order for the same seed and epoch', async () => {
    const ctx = await openModel(tiny);
    const explainer = await Explainer.create(ctx);
    const dataset = await openImageFolder(await imageFolder(), 'grayscale');
    const out = tempDir();
    await collectFeatures(ctx, explainer, { layer: 'layer2', dataset, outDir: out, samplesPerImage: 4, shardVectors: 8 });
    const store = await FeatureStore.open(out, { window: 2 });
    const take = async (epoch: number, startBatch = 0) => {
      const rows: number[][] = [];
      for await (const b of store.batches({ batchSize: 5, epoch, seed: 1, startBatch })) rows.push(Array.from(b.data));
      return rows;
    };
    const a = await take(0);
    assert.equal(a.length, store.batchCount(5));
    assert.deepEqual(await take(0), a);
    assert.notDeepEqual(await take(1), a);
    assert.deepEqual(await take(0, 3), a.slice(3), 'resuming mid-epoch continues the same sequence');
    await explainer.dispose();
  });

  it('uses every vector once per epoch, batches crossing shard and window boundaries, as many as batchCount says', async () => {
    const ctx = await openModel(tiny);
    const explainer = await Explainer.create(ctx);
    const dataset = await openImageFolder(await imageFolder(), 'grayscale');
    const out = tempDir();
    // Shards of 8 vectors (two images), batches of 6, windows of one shard: most batches straddle two shards.
    await collectFeatures(ctx, explainer, { layer: 'layer2', dataset, outDir: out, samplesPerImage: 4, shardVectors: 7 });
    for (const window of [1, 3]) {
      const store = await FeatureStore.open(out, { window });
      const key = (v: Float32Array, r: number) => Array.from(v.subarray(r * store.dim, (r + 1) * store.dim)).join(',');
      const all: string[] = [];
      for (const s of store.shards) {
        const l = await store.loadShard(s);
        for (let r = 0; r < l.vectors; r++) all.push(key(l.features, r));
      }
      for (const batchSize of [6, 5, store.count - 1]) {
        const seen: string[] = [];
        let batches = 0;
        for await (const b of store.batches({ batchSize, epoch: 2, seed: 3 })) {
          batches++;
          assert.ok(b.rows >= 2 && b.rows <= batchSize + 1, `batch of ${b.rows}`);
          for (let r = 0; r < b.rows; r++) seen.push(key(b.data, r));
        }
        assert.equal(batches, store.batchCount(batchSize), `window ${window}, batch ${batchSize}`);
        assert.deepEqual([...seen].sort(), [...all].sort(), `window ${window}, batch ${batchSize}: every vector exactly once`);
      }
    }
    await explainer.dispose();
  });
});
