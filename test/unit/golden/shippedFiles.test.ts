// The shipped artefacts are what their cards and indexes say: model hashes, data counts, sample images, layer
// shapes, and every golden tensor's dtype and shape.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeImageFile } from '../../../src/core/data/imageDecode';
import { readIdxFile } from '../../../src/core/data/idx';
import { inspectModel } from '../../../src/core/model/inspectModel';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { sha256Hex } from '../../../src/core/util/sha256';
import { fixtures, repoRoot } from '../../support/paths';
import { golden, goldenIndex } from './goldenSupport';

const DTYPES: Record<string, string> = { float32: 'F32', int64: 'I64', uint8: 'U8', int32: 'I32', float16: 'F16' };

function cards(): string[] {
  const dirs = [path.join(repoRoot, 'models'), path.join(fixtures, 'structures')];
  return dirs.flatMap((d) =>
    readdirSync(d)
      .map((n) => path.join(d, n, 'card.json'))
      .filter((f) => existsSync(f)),
  );
}

describe('shipped models and fixtures', () => {
  for (const cardFile of cards()) {
    it(`${path.relative(repoRoot, cardFile)} matches its model and data`, async () => {
      const card = JSON.parse(readFileSync(cardFile, 'utf8'));
      const dir = path.dirname(cardFile);
      const model = path.join(dir, card.model);
      assert.equal(sha256Hex(readFileSync(model)), card.sha256, "the card records the model file's SHA-256");
      const ctx = await openModel(model);
      const runner = new ModelRunner();
      const r = await inspectModel(ctx, runner);
      await runner.dispose();
      for (const l of card.layers ?? []) {
        const hit = r.layers.find((x) => x.label === l.name);
        assert.ok(hit, `layer ${l.name} is a candidate layer`);
        assert.deepEqual(hit.shape, l.shape, `shape of ${l.name}`);
      }
      if (card.classes) assert.equal(card.classes.length, ctx.loaded.graph.output.length ? r.summary.outputs[0]!.shape![1] : 0);
      for (const [split, d] of Object.entries((card.data ?? {}) as Record<string, { images: string; labels: string; count: number }>)) {
        const images = await readIdxFile(path.join(dir, d.images));
        const labels = await readIdxFile(path.join(dir, d.labels));
        assert.equal(images.dims[0], d.count, `${split} images`);
        assert.equal(labels.dims[0], d.count, `${split} labels`);
        assert.ok(Array.from(labels.data).every((v) => v >= 0 && v < card.classes.length));
      }
      for (const s of card.samples ?? []) {
        const img = await decodeImageFile(path.join(dir, s), card.preprocessing?.colorSpace ?? 'rgb');
        assert.equal(img.width, card.preprocessing?.centerCrop ?? img.width);
      }
    });
  }

  it('every golden tensor has the dtype and shape the fixture index states', async () => {
    const index = goldenIndex();
    let count = 0;
    for (const [rel, entry] of Object.entries(index.files)) {
      const f = await golden(rel);
      for (const [name, t] of Object.entries(entry.tensors)) {
        const got = f.tensors[name];
        assert.ok(got, `${rel}: ${name}`);
        assert.equal(got.dtype, DTYPES[t.dtype], `${rel}: ${name} dtype`);
        assert.deepEqual(got.shape, t.shape, `${rel}: ${name} shape`);
        count++;
      }
      if (entry.modelSha256)
        assert.equal(sha256Hex(readFileSync(path.join(repoRoot, entry.model!))), entry.modelSha256, `${rel}: model hash`);
    }
    assert.ok(count > 10);
  });
});
