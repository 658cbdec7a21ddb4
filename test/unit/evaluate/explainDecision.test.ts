import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { explainDecision } from '../../../src/core/concepts/explainDecision';
import { Explainer } from '../../../src/core/engine/explainer';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { naiveEncoder, randomSae } from '../../support/naiveSae';
import { fixtures } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');
const image = { width: 8, height: 8, channels: 1 as const, data: Uint8Array.from({ length: 64 }, (_, i) => (i * 41 + 7) % 256) };

describe('a decision explained through concepts', () => {
  it('is complete, and each concept trace sums to the concept presence', async () => {
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = randomSae(8, 24, 3, 4);
    const d = await explainDecision(ctx, runner, explainer, sae, naiveEncoder(sae), image, { topConcepts: 5 });
    assert.ok(d.completenessError <= 1e-5 * Math.max(1, Math.abs(d.logit)), `completeness ${d.completenessError}`);
    assert.equal(d.traced.length, 5);
    for (const t of d.traced)
      assert.ok(
        Math.abs(t.traceSum - t.presence) <= 1e-4 * Math.max(1, t.presence),
        `concept ${t.concept}: Σ x·trace ${t.traceSum} vs presence ${t.presence}`,
      );
    // The full-logit trace through the SAE explains logit − bias; top concepts + others cover every concept.
    assert.ok(Math.abs(d.full.contributionMapSum - (d.logit - d.bias)) <= 1e-4 * Math.max(1, Math.abs(d.logit)));
    const all = d.concepts.reduce((a, c) => a + c.contribution, 0);
    const parts = d.traced.reduce((a, c) => a + c.contribution, 0) + d.other.contribution;
    assert.ok(Math.abs(all - parts) < 1e-6);
    assert.equal(d.other.concepts, d.concepts.length - 5);
    // Shares are relative to the positive total; the largest contributions come first.
    const pos = d.concepts.filter((c) => c.contribution > 0).reduce((a, c) => a + c.share, 0);
    assert.ok(Math.abs(pos - 100) < 1e-6);
    for (let i = 1; i < d.concepts.length; i++) assert.ok(d.concepts[i - 1]!.contribution >= d.concepts[i]!.contribution);
    assert.equal(d.traced[0]!.trace.width, 8);
    await runner.dispose();
    await explainer.dispose();
  });

  it('explains another class when asked', async () => {
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = randomSae(8, 24, 3, 4);
    for (const cls of [0, 1, 2]) {
      const d = await explainDecision(ctx, runner, explainer, sae, naiveEncoder(sae), image, { classIndex: cls });
      assert.equal(d.classIndex, cls);
      assert.ok(d.completenessError <= 1e-5 * Math.max(1, Math.abs(d.logit)));
    }
    await runner.dispose();
    await explainer.dispose();
  });
});
