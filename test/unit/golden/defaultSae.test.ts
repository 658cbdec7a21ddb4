// The SAE shipped with the default model: its recorded evaluation meets the targets, and recomputed on part of the
// test set it is complete, keeps the accuracy, and its concepts are clearly more consistent (C²) than random traces.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FoundationModel } from '../../../src/core/consistency/foundationModel';
import { measureConsistency } from '../../../src/core/consistency/measureConsistency';
import { openDataset } from '../../../src/core/data/openDataset';
import { Explainer } from '../../../src/core/engine/explainer';
import { evaluateSae } from '../../../src/core/evaluate/evaluate';
import { openSaeContext } from '../../../src/core/jobs/saeContext';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { defaultModelDir, tempDir } from '../../support/paths';

const saeDir = path.join(defaultModelDir, 'saes', 'layer3');

describe('the SAE shipped with the default model', () => {
  it('recorded: accuracy with the SAE within 3 points, at least 90% of concepts alive, C² above random', () => {
    const cfg = JSON.parse(readFileSync(path.join(saeDir, 'cfg.json'), 'utf8'));
    const e = cfg.evaluation;
    assert.equal(e.images, 10000);
    assert.ok(e.accuracy - e.accuracyWithSae <= 0.03, `accuracy ${e.accuracy} vs ${e.accuracyWithSae} with the SAE`);
    assert.ok(e.alivePercentage >= 90, `${e.alivePercentage}% alive`);
    assert.ok(cfg.consistency.mean > cfg.consistency.randomMean, 'C² above its random baseline');
  });

  it('recomputed on 600 test images: complete, accurate, and consistent beyond random', async () => {
    const ctx = await openModel(path.join(defaultModelDir, 'model.onnx'));
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const s = await openSaeContext(ctx, saeDir, { cacheRoot: tempDir('fact-cache-') });
    const dataset = await openDataset(ctx, { kind: 'split', split: 'test' });
    const { metrics, records } = await evaluateSae(ctx, runner, explainer, {
      layer: s.sae.cfg.layer,
      dataset,
      sae: s.sae,
      encode: s.encode,
      limit: 600,
      keepRecords: true,
    });
    assert.ok(metrics.worstCompletenessRel <= 1e-5, `completeness ${metrics.worstCompletenessRel}`);
    assert.ok(metrics.accuracy - metrics.accuracyWithSae <= 0.05, `accuracy ${metrics.accuracy} vs ${metrics.accuracyWithSae}`);
    const foundation = await FoundationModel.open(path.join(defaultModelDir, 'foundation', 'feature-model.onnx'));
    const c2 = await measureConsistency(ctx, runner, explainer, {
      layer: s.sae.cfg.layer,
      sae: s.sae,
      encode: s.encode,
      records: records!,
      dataset,
      foundation,
      meanImages: 600,
    });
    assert.ok(c2.conceptsInMean > 50, `${c2.conceptsInMean} concepts scored`);
    assert.ok(c2.deltaRandom > 0.05, `C² ${c2.mean} vs random ${c2.randomMean}`);
    await foundation.dispose();
    await s.dispose();
    await runner.dispose();
    await explainer.dispose();
  });
});
