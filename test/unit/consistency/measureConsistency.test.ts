import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FoundationModel } from '../../../src/core/consistency/foundationModel';
import { measureConsistency } from '../../../src/core/consistency/measureConsistency';
import { Explainer } from '../../../src/core/engine/explainer';
import { evaluateSae } from '../../../src/core/evaluate/evaluate';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { GraphBuilder, attr } from '../../../src/core/onnx/graphBuilder';
import { encodeModel } from '../../../src/core/onnx/modelFile';
import { seededRandom } from '../../support/denseJacobian';
import { naiveEncoder, randomSae } from '../../support/naiveSae';
import { fixtures, tempDir } from '../../support/paths';
import { tinyDataset } from '../../support/tinyImages';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

function foundationFile(outputTokens = false, flat = false): string {
  const g = new GraphBuilder('foundation');
  g.input('image', 'float32', ['N', 1, 8, 8]);
  const rand = seededRandom(9);
  const w = g.constant(
    'w',
    'float32',
    [6, 1, 3, 3],
    Float32Array.from({ length: 54 }, () => rand() - 0.5),
  );
  const f = g.op('Relu', [g.op('Conv', ['image', w], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) })]);
  if (flat) g.op('Flatten', [f], {}, 'features');
  else if (outputTokens)
    g.op('Transpose', [g.op('Reshape', [f, g.constant('s', 'int64', [3], [0, 6, 16])])], { perm: attr.ints([0, 2, 1]) }, 'features');
  else g.op('Identity', [f], {}, 'features');
  g.output('features');
  const file = path.join(tempDir('fact-found-'), 'foundation.onnx');
  writeFileSync(file, encodeModel(g.model()));
  return file;
}

describe('measuring C² on an SAE', () => {
  it('scores concepts with enough images, drops the others with a reason, and computes the random baseline', async () => {
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = randomSae(8, 24, 3, 2);
    const ds = await tinyDataset(30, (i, p) => p * (i + 5) * 23 + i * 11);
    const { records } = await evaluateSae(ctx, runner, explainer, {
      layer: 'layer2',
      dataset: ds,
      sae,
      encode: naiveEncoder(sae),
      keepRecords: true,
    });
    for (const tokens of [false, true]) {
      const foundation = await FoundationModel.open(foundationFile(tokens));
      const report = await measureConsistency(ctx, runner, explainer, {
        layer: 'layer2',
        sae,
        encode: naiveEncoder(sae),
        records: records!,
        dataset: ds,
        foundation,
      });
      assert.ok(report.concepts.length > 0, 'some concepts are scored');
      for (const c of report.concepts) {
        assert.ok(c.images >= 2);
        assert.ok(c.score >= -1 - 1e-9 && c.score <= 1 + 1e-9, `${c.score}`);
        assert.ok(Number.isFinite(c.random));
      }
      assert.equal(report.concepts.length + report.dropped.length, 24);
      for (const d of report.dropped) assert.match(d.reason, /never present|too few to compare/);
      assert.ok(Number.isFinite(report.mean) && Number.isFinite(report.randomMean));
      assert.ok(Math.abs(report.deltaRandom - (report.mean - report.randomMean)) < 1e-12);
      await foundation.dispose();
    }
    await runner.dispose();
    await explainer.dispose();
  });

  it('refuses a foundation model whose output is not a feature map', async () => {
    await assert.rejects(
      FoundationModel.open(foundationFile(false, true)),
      /does not output a feature map: its output 'features' has shape \[1, 96\]/,
    );
  });
});
