import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Explainer } from '../../../src/core/engine/explainer';
import { evaluateSae } from '../../../src/core/evaluate/evaluate';
import { loadEvaluationRecords, saveEvaluationRecords } from '../../../src/core/evaluate/evaluationFile';
import { coverageL0 } from '../../../src/core/evaluate/conceptContributions';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { exactSae, naiveEncoder, randomSae } from '../../support/naiveSae';
import { fixtures, tempDir } from '../../support/paths';
import { tinyDataset } from '../../support/tinyImages';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

describe('evaluation with the SAE in place', () => {
  it('is complete per image and keeps presence and contribution for every active concept', async () => {
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = randomSae(8, 24, 3, 1);
    const ds = await tinyDataset(12, (i, p) => p * (i + 5) * 17);
    const { metrics, records } = await evaluateSae(ctx, runner, explainer, {
      layer: 'layer2',
      dataset: ds,
      sae,
      encode: naiveEncoder(sae),
      keepRecords: true,
      batchSize: 5,
    });
    assert.equal(metrics.images, 12);
    assert.ok(metrics.worstCompletenessRel <= 1e-5, `completeness ${metrics.worstCompletenessRel}`);
    const r = records!;
    for (let i = 0; i < 12; i++) {
      let sum = 0;
      for (let t = r.indptr[i]!; t < r.indptr[i + 1]!; t++) sum += r.contribution[t]!;
      assert.ok(Math.abs(sum + r.bias[i]! - r.logit[i]!) <= 1e-5 * Math.max(1, Math.abs(r.logit[i]!)));
    }
    assert.ok(metrics.imageL0 > 0 && metrics.imageL0 <= 24);
    assert.ok(metrics.relativeSquaredError > 0, 'a random SAE does not reconstruct exactly');
    // Presence is Σ u over locations, recomputed here from the naive encoder for image 0.
    const img = await ds.image(0);
    const { preprocessImage } = await import('../../../src/core/data/preprocess');
    const f = (await runner.run(ctx, preprocessImage(img, ctx.preprocess), 1, ['layer2'])).outputs.layer2!.data;
    const z = new Float32Array(64 * 8);
    for (let c = 0; c < 8; c++) for (let p = 0; p < 64; p++) z[p * 8 + c] = f[c * 64 + p]!;
    const codes = await naiveEncoder(sae)(z, 64);
    const want = new Map<number, number>();
    for (let t = 0; t < codes.indices.length; t++)
      if (codes.values[t]! > 0) want.set(codes.indices[t]!, (want.get(codes.indices[t]!) ?? 0) + codes.values[t]!);
    const got = new Map<number, number>();
    for (let t = r.indptr[0]!; t < r.indptr[1]!; t++) got.set(r.concept[t]!, r.presence[t]!);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [c, v] of want) assert.ok(Math.abs(got.get(c)! - v) < 1e-4 * Math.max(1, v));
    const file = path.join(tempDir(), 'evaluation.safetensors');
    await saveEvaluationRecords(file, r);
    const back = await loadEvaluationRecords(file);
    assert.deepEqual(Array.from(back.concept), Array.from(r.concept));
    assert.equal(back.meta.layer, 'layer2');
    await runner.dispose();
    await explainer.dispose();
  });

  it('an SAE that reconstructs exactly leaves accuracy unchanged and has zero error', async () => {
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = exactSae(8);
    const { metrics } = await evaluateSae(ctx, runner, explainer, {
      layer: 'layer2',
      dataset: await tinyDataset(12, (i, p) => p * (i + 5) * 17),
      sae,
      encode: naiveEncoder(sae),
    });
    assert.equal(metrics.accuracyWithSae, metrics.accuracy);
    assert.ok(metrics.relativeSquaredError < 1e-10);
    await runner.dispose();
    await explainer.dispose();
  });

  it('refuses an SAE for features of another width', async () => {
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = randomSae(16, 32, 2, 1);
    await assert.rejects(
      evaluateSae(ctx, runner, explainer, {
        layer: 'layer2',
        dataset: await tinyDataset(12, (i, p) => p * (i + 5) * 17),
        sae,
        encode: naiveEncoder(sae),
      }),
      /reads 16-dimensional features but layer 'layer2' .* has 8 channels/,
    );
    await runner.dispose();
    await explainer.dispose();
  });

  it('counts the concepts needed to cover 80% of the positive contribution', () => {
    assert.equal(coverageL0([5, -3, 3, 2]), 2);
    assert.equal(coverageL0([1, 1, 1, 1, 1]), 4);
    assert.equal(coverageL0([-1]), 0);
  });
});
