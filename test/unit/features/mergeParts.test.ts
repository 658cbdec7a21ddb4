import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { openDataset } from '../../../src/core/data/openDataset';
import { Explainer } from '../../../src/core/engine/explainer';
import { collectFeatures } from '../../../src/core/features/collect';
import { FeatureStore } from '../../../src/core/features/featureStore';
import { PARTS_DIR, readManifest } from '../../../src/core/features/manifest';
import { mergeParts, partName, truncateDamagedPart } from '../../../src/core/features/mergeParts';
import { openModel, type ModelContext } from '../../../src/core/model/modelContext';
import { defaultModelDir, tempDir } from '../../support/paths';
import { storeBytesPerImage } from '../../support/storeImages';

const model = path.join(defaultModelDir, 'model.onnx');
const IMAGES = 150;

describe('part-stores and merging', () => {
  let ctx: ModelContext;
  let explainer: Explainer;
  let single: string;
  const common = { layer: 'layer3', samplesPerImage: 12, shardVectors: 200, limit: IMAGES, seed: 5, dtype: 'float16' as const };

  before(async () => {
    ctx = await openModel(model);
    explainer = await Explainer.create(ctx);
    single = tempDir('fact-single-');
    await collectFeatures(ctx, explainer, {
      ...common,
      dataset: await openDataset(ctx, { kind: 'split', split: 'train' }),
      outDir: single,
    });
  });

  async function collectParts(store: string, ranges: [number, number][]): Promise<void> {
    for (const [i, range] of ranges.entries()) {
      await collectFeatures(ctx, explainer, {
        ...common,
        dataset: await openDataset(ctx, { kind: 'split', split: 'train' }),
        outDir: path.join(store, PARTS_DIR, partName(i)),
        range,
      });
    }
  }

  it('merges parts (ranges not aligned to batches) into a store equal to the one-machine store image for image, without copying shards', async () => {
    const store = tempDir('fact-merged-');
    await collectParts(store, [
      [0, 37],
      [37, 100],
      [100, 150],
    ]);
    const m = await mergeParts(store);
    assert.equal(m.imagesDone, IMAGES);
    assert.deepEqual(
      m.parts!.map((p) => p.images),
      [
        [0, 37],
        [37, 100],
        [100, 150],
      ],
    );
    assert.ok(m.shards.every((s) => s.part && !s.file.includes('/')));
    const a = await storeBytesPerImage(single);
    const b = await storeBytesPerImage(store);
    assert.equal(b.size, IMAGES);
    for (const [image, bytes] of a) assert.ok(Buffer.compare(bytes, b.get(image)!) === 0, `image ${image} differs`);
    const opened = await FeatureStore.open(store);
    assert.equal(opened.count, (await readManifest(single)).vectors);
  });

  it('refuses a part of another sampling, naming the part and the field', async () => {
    const store = tempDir('fact-merged-');
    await collectParts(store, [[0, 75]]);
    await collectFeatures(ctx, explainer, {
      ...common,
      samplesPerImage: 6,
      dataset: await openDataset(ctx, { kind: 'split', split: 'train' }),
      outDir: path.join(store, PARTS_DIR, partName(1)),
      range: [75, 150],
    });
    await assert.rejects(mergeParts(store), (e: Error) => /part-001' \(task 1\).*samples per image is 6, not 12/.test(e.message));
  });

  it("refuses a gap, an incomplete part (with the scheduler's word on it), and a damaged shard naming the task to rerun; a damaged part resumes from the damaged shard", async () => {
    const store = tempDir('fact-merged-');
    await collectParts(store, [[0, 75]]);
    await assert.rejects(mergeParts(store), /No part holds images 75–149/);
    const ds = await openDataset(ctx, { kind: 'split', split: 'train' });
    const abort = new AbortController();
    const part1 = path.join(store, PARTS_DIR, partName(1));
    await assert.rejects(
      collectFeatures(ctx, explainer, {
        ...common,
        batchSize: 8,
        dataset: ds,
        outDir: part1,
        range: [75, 150],
        signal: abort.signal,
        onProgress: (p) => {
          if (p.imagesDone >= 40) abort.abort();
        },
      }),
    );
    await assert.rejects(
      mergeParts(store, { taskState: (t) => `job 7_${t} is RUNNING` }),
      /part-001' \(task 1\) is not complete: \d+ of 75 images collected; job 7_1 is RUNNING/,
    );
    await collectFeatures(ctx, explainer, { ...common, dataset: ds, outDir: part1, range: [75, 150] });
    await mergeParts(store);
    const m1 = await readManifest(part1);
    const shard = path.join(part1, m1.shards[1]!.file);
    const good = readFileSync(shard);
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 1;
    writeFileSync(shard, bad);
    await assert.rejects(mergeParts(store), /wrong checksum.*run task 1 again/s);
    assert.equal(await truncateDamagedPart(part1), m1.shards.length - 1);
    await collectFeatures(ctx, explainer, { ...common, dataset: ds, outDir: part1, range: [75, 150] });
    await mergeParts(store);
    const a = await storeBytesPerImage(single);
    const b = await storeBytesPerImage(store);
    for (const [image, bytes] of a) assert.ok(Buffer.compare(bytes, b.get(image)!) === 0, `image ${image} differs`);
  });

  it('refuses a part of another model', async () => {
    const store = tempDir('fact-merged-');
    await collectParts(store, [
      [0, 75],
      [75, 150],
    ]);
    const other = path.join(store, PARTS_DIR, partName(1), 'manifest.json');
    const m = JSON.parse(readFileSync(other, 'utf8'));
    m.model = { file: 'other.onnx', sha256: 'f'.repeat(64) };
    writeFileSync(other, JSON.stringify(m));
    await assert.rejects(mergeParts(store), /part-001' \(task 1\) does not belong.*model \(sha256\) is f{64}/);
    cpSync(single, path.join(store, PARTS_DIR, partName(1)), { recursive: true });
    await assert.rejects(mergeParts(store), /is a whole feature store, not a part-store/);
  });
});
