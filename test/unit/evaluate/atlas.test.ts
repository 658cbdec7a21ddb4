import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { atlasConcept, buildAtlas } from '../../../src/core/concepts/atlas';
import { cropAroundMass } from '../../../src/core/concepts/traceCrop';
import { openImageFolder } from '../../../src/core/data/imageFolder';
import { Explainer } from '../../../src/core/engine/explainer';
import { evaluateSae } from '../../../src/core/evaluate/evaluate';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { naiveEncoder, randomSae } from '../../support/naiveSae';
import { fixtures, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

describe('the concept atlas', () => {
  it('holds per-concept statistics and top images with traces, each with its strip of inputs over traces', async () => {
    const root = tempDir('fact-atlas-ds-');
    for (let i = 0; i < 20; i++) {
      const dir = path.join(root, ['circle', 'square', 'triangle'][i % 3]!);
      mkdirSync(dir, { recursive: true });
      await sharp(Uint8Array.from({ length: 64 }, (_, p) => (p * (i + 3) * 29 + i) % 256), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(path.join(dir, `${i}.png`));
    }
    const ds = await openImageFolder(root, 'grayscale');
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = randomSae(8, 24, 3, 6);
    const { records } = await evaluateSae(ctx, runner, explainer, { layer: 'layer2', dataset: ds, sae, encode: naiveEncoder(sae), keepRecords: true });
    const strips = new Map<string, Uint8Array>();
    const writer = { strip: async (name: string, png: Uint8Array) => { strips.set(name, png); }, index: async () => undefined };
    const atlas = await buildAtlas(ctx, runner, explainer, { writer, checkpointSha256: 'a'.repeat(64), evaluationSha256: 'b'.repeat(64), sae, encode: naiveEncoder(sae), records: records!, dataset: ds, topImages: 4 });
    assert.equal(atlas.concepts.length, 24);
    const r = records!;
    for (const c of atlas.concepts) {
      let count = 0;
      for (let i = 0; i < 20; i++) for (let t = r.indptr[i]!; t < r.indptr[i + 1]!; t++) if (r.concept[t] === c.concept) count++;
      assert.equal(c.images, count);
      assert.ok(Math.abs(c.frequency - count / 20) < 1e-12);
      assert.equal(c.top.length, Math.min(4, count));
      for (let i = 1; i < c.top.length; i++) assert.ok(c.top[i - 1]!.presence >= c.top[i]!.presence);
      if (c.strip) {
        const meta = await sharp(strips.get(c.strip)!).metadata();
        assert.deepEqual([meta.width, meta.height], [atlas.cell * c.top.length, 2 * atlas.cell]);
      }
    }
    assert.throws(() => atlasConcept(atlas, 24), /Concept 24 is out of range: this SAE has concepts 0–23/);
    await runner.dispose();
    await explainer.dispose();
  });

  it('crops around the mass of a trace', () => {
    const map = new Float64Array(100);
    map[3 * 10 + 6] = 5; map[4 * 10 + 7] = 4; map[0] = 0.1;
    const c = cropAroundMass(map, 10);
    assert.ok(c.x <= 6 && c.x + c.size > 7 && c.y <= 3 && c.y + c.size > 4, JSON.stringify(c));
    assert.ok(c.size < 10);
  });
});
