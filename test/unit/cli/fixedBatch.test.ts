// A model exported with a fixed batch of 1 (torch.onnx.export without dynamic_axes) goes through the whole pipeline
// (check, collect, train, evaluate, C², explain through concepts); it collects what the same model with a dynamic
// batch collects.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeModel, encodeModel } from '../../../src/core/onnx/modelFile';
import { readFileSync } from 'node:fs';
import { cli } from '../../support/cli';
import { writeFoundation } from '../../support/foundationModel';
import { fixtures, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

/** tiny.onnx with its input's and output's batch axis fixed to 1, beside a copy of its card. */
function fixedBatchCopy(dir: string): string {
  const m = decodeModel(readFileSync(tiny));
  const g = m.graph!;
  for (const v of [...g.input, ...g.output]) {
    const dim = v.type?.tensorType?.shape?.dim;
    if (dim?.length) dim[0] = { dimValue: 1 };
  }
  const file = path.join(dir, 'tiny.onnx');
  writeFileSync(file, encodeModel(m));
  copyFileSync(path.join(fixtures, 'tiny', 'card.json'), path.join(dir, 'card.json'));
  return file;
}

describe('a fixed-batch model through the CLI', () => {
  it("check, collect, train, evaluate, C² and explain run in batches of the model's own size", async () => {
    const root = tempDir('fact-fixed-');
    const fixed = fixedBatchCopy(root);
    const data = path.join(root, 'data');
    for (let i = 0; i < 12; i++) {
      const dir = path.join(data, ['circle', 'square', 'triangle'][i % 3]!);
      mkdirSync(dir, { recursive: true });
      await sharp(
        Uint8Array.from({ length: 64 }, (_, p) => ((p % 8) * ((i % 5) + 1) * 20 + Math.floor(p / 8) * (i % 3) * 15) % 256),
        { raw: { width: 8, height: 8, channels: 1 } },
      )
        .png()
        .toFile(path.join(dir, `${i}.png`));
    }
    const check = await cli('check', fixed, '--json');
    assert.equal(check.code, 0, check.err);
    assert.equal(JSON.parse(check.out).dynamicLinear, true);
    const stores = { fixed: path.join(root, 'f-fixed'), dynamic: path.join(root, 'f-dynamic') };
    const collected: Record<string, unknown> = {};
    for (const [kind, model] of [
      ['fixed', fixed],
      ['dynamic', tiny],
    ] as const) {
      const r = await cli('collect', model, '--layer', 'layer2', '--data', data, '--out', stores[kind], '--samples', '8', '--json');
      assert.equal(r.code, 0, r.err);
      collected[kind] = JSON.parse(r.out).vectors;
    }
    assert.equal(collected.fixed, 12 * 8);
    assert.equal(collected.fixed, collected.dynamic);
    const ckpt = path.join(root, 'sae');
    const train = await cli(
      'train',
      fixed,
      '--features',
      stores.fixed,
      '--out',
      ckpt,
      '--k',
      '2',
      '--dict-size',
      '16',
      '--epochs',
      '2',
      '--batch',
      '32',
      '--json',
    );
    assert.equal(train.code, 0, train.err);
    const evaluate = await cli('evaluate', fixed, '--sae', ckpt, '--data', data, '--json');
    assert.equal(evaluate.code, 0, evaluate.err);
    const metrics = JSON.parse(evaluate.out).metrics;
    assert.equal(metrics.images, 12);
    assert.ok(metrics.worstCompletenessRel <= 1e-5, `completeness ${metrics.worstCompletenessRel}`);
    const foundation = writeFoundation(root);
    const c2 = await cli('consistency', fixed, '--sae', ckpt, '--foundation', foundation, '--json');
    assert.equal(c2.code, 0, c2.err);
    assert.ok(Number.isFinite(JSON.parse(c2.out).mean));
    const explain = await cli('explain', fixed, path.join(data, 'circle', '0.png'), '--sae', ckpt);
    assert.equal(explain.code, 0, explain.err);
  });
});
