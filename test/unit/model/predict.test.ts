import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { inspectModel } from '../../../src/core/model/inspectModel';
import { predictImages, topClasses } from '../../../src/core/model/predict';
import type { RawImage } from '../../../src/core/data/rawImage';
import { fixtures } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');
const image = (seed: number): RawImage => ({
  width: 8,
  height: 8,
  channels: 1,
  data: Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + seed * 101) % 256),
});

describe('predict and inspect a model', () => {
  it('inspects the tiny model: card classes, card layer names, shapes from the probe pass', async () => {
    const runner = new ModelRunner();
    const r = await inspectModel(await openModel(tiny), runner);
    assert.deepEqual(r.classes, ['circle', 'square', 'triangle']);
    assert.deepEqual(r.recommendedLayers, ['layer2']);
    assert.deepEqual(
      r.layers.map((l) => [l.label, l.shape]),
      [
        ['layer1', [8, 8, 8]],
        ['layer2', [8, 8, 8]],
        ['layer3', [16, 4, 4]],
        ['classifier', [3, 4, 4]],
      ],
    );
    await runner.dispose();
  });

  it('ranks classes by logit with softmax probabilities', async () => {
    const ctx = await openModel(tiny);
    const top = topClasses(ctx, [1, 3, 2], 2);
    assert.deepEqual(
      top.map((c) => c.name),
      ['square', 'triangle'],
    );
    const z = Math.exp(1) + Math.exp(3) + Math.exp(2);
    assert.ok(Math.abs(top[0]!.probability - Math.exp(3) / z) < 1e-12);
  });

  it('gives each image of a batch the logits it gets alone', async () => {
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const batch = await predictImages(ctx, runner, [image(1), image(2), image(3)]);
    for (let i = 0; i < 3; i++) {
      const [alone] = await predictImages(ctx, runner, [image(i + 1)]);
      alone!.logits.forEach((v, k) => assert.ok(Math.abs(v - batch[i]!.logits[k]!) < 1e-5));
    }
    assert.equal(batch[0]!.top.length, 3);
    await runner.dispose();
  });

  it('reports an input batch of the wrong size', async () => {
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    await assert.rejects(runner.run(ctx, new Float32Array(10), 1), /needs 1×2×8×8 = 128/);
    await runner.dispose();
  });
});
