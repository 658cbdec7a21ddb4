import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { cli } from '../../support/cli';
import { encodeModel } from '../../../src/core/onnx/modelFile';
import { GraphBuilder } from '../../../src/core/onnx/graphBuilder';
import { fixtures, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

describe('fact CLI', () => {
  it('inspect prints inputs, outputs and candidate layers', async () => {
    const r = await cli('inspect', tiny);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /input {2}float32 \[N, 2, 8, 8\] {2}← image/);
    assert.match(r.out, /layer2 +\[8, 8, 8\] +tensor layer2 {2}also layer2\.0 {2}\(card\)/);
  });

  it('inspect --json is machine-readable', async () => {
    const r = await cli('inspect', tiny, '--json');
    const j = JSON.parse(r.out);
    assert.equal(j.imageInput.channels, 2);
    assert.deepEqual(
      j.layers.map((l: { label: string }) => l.label),
      ['layer1', 'layer2', 'layer3', 'classifier'],
    );
  });

  it('predict prints the top classes of an image', async () => {
    const img = path.join(tempDir(), 'x.png');
    await sharp(new Uint8Array(8 * 8).fill(90), { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toFile(img);
    const r = await cli('predict', tiny, img, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.results[0].prediction.top.length, 3);
    assert.deepEqual([...j.results[0].prediction.top.map((c: { name: string }) => c.name)].sort(), ['circle', 'square', 'triangle']);
  });

  it('predict exits 3 and names the image that does not decode, still printing the others', async () => {
    const dir = tempDir();
    const good = path.join(dir, 'good.png');
    await sharp(new Uint8Array(8 * 8).fill(90), { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toFile(good);
    const bad = path.join(dir, 'bad.png');
    writeFileSync(bad, 'not a png');
    const r = await cli('predict', tiny, good, bad);
    assert.equal(r.code, 3);
    assert.match(r.out, /good\.png\n {2}1\. /);
    assert.match(r.err, /Cannot decode the image '.*bad\.png'/);
  });

  it('bad input gets a clear message and exit code 1', async () => {
    const missing = await cli('inspect', '/nonexistent/model.onnx');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /The model file '\/nonexistent\/model\.onnx' does not exist/);
    const notOnnx = await cli('inspect', path.join(fixtures, 'tiny', 'card.json'));
    assert.equal(notOnnx.code, 1);
    assert.match(notOnnx.err, /is not an ONNX model/);
    const g = new GraphBuilder();
    g.input('tokens', 'float32', ['N', 16]);
    g.op('Identity', ['tokens'], {}, 'y');
    g.output('y');
    const mlp = path.join(tempDir(), 'mlp.onnx');
    writeFileSync(mlp, encodeModel(g.model()));
    const notImage = await cli('predict', mlp, 'x.png', '--json');
    assert.equal(notImage.code, 1);
    assert.equal(JSON.parse(notImage.out).error.code, 'not-image-model');
  });

  it('usage errors exit 2', async () => {
    assert.equal((await cli()).code, 2);
    assert.equal((await cli('inspect')).code, 2);
    assert.equal((await cli('inspect', tiny, '--bogus')).code, 2);
    assert.equal((await cli('frobnicate')).code, 2);
    assert.equal((await cli('predict', tiny, 'x.png', '--ep', 'tpu')).code, 2);
  });

  it('numeric options are checked before any work: exit 2 naming the option, nothing written', async () => {
    const out = path.join(tempDir('fact-num-'), 'store');
    for (const [option, value] of [
      ['--seed', 'abc'],
      ['--seed', '-1'],
      ['--samples', '1.5'],
      ['--budget-gb', 'Infinity'],
      ['--shard-size', ''],
    ]) {
      const r = await cli('collect', tiny, '--layer', 'layer2', '--out', out, option!, value!);
      assert.equal(r.code, 2, `${option} ${value}`);
      assert.match(r.err, new RegExp(`^${option} must be`));
      assert.ok(!existsSync(out), 'nothing written');
    }
    const r = await cli(
      'train',
      tiny,
      '--features',
      out,
      '--out',
      out,
      '--k',
      '2',
      '--dict-size',
      '8',
      '--validate-split',
      'test',
      '--validate-from',
      'abc',
    );
    assert.equal(r.code, 2);
    assert.match(r.err, /--validate-from must be an integer, not 'abc'/);
  });
});

describe('fact explain and fact check', () => {
  it('explain writes the colour explanation and prints a complete decomposition', async () => {
    const out = tempDir();
    const img = path.join(out, 'x.png');
    await sharp(
      Uint8Array.from({ length: 64 }, (_, i) => (i * 29) % 256),
      { raw: { width: 8, height: 8, channels: 1 } },
    )
      .png()
      .toFile(img);
    const r = await cli('explain', tiny, img, '--class', 'square', '--out', out, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.explanation.className, 'square');
    assert.ok(j.explanation.completenessError <= 1e-5 * Math.max(1, Math.abs(j.explanation.logit)));
    assert.ok(Math.abs(j.explanation.contributionSum + j.explanation.bias - j.explanation.logit) < 1e-5);
    const meta = await sharp(j.files[0]).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels], [224, 224, 4]);
    const text = await cli('explain', tiny, img, '--out', out);
    assert.match(text.out, /completeness {10}Σ x·W \+ bias − logit = \d\.\d\de-\d+/);
  });

  it('explain rejects an unknown class name and an out-of-range index', async () => {
    const img = path.join(tempDir(), 'x.png');
    await sharp(new Uint8Array(64).fill(3), { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toFile(img);
    const byName = await cli('explain', tiny, img, '--class', 'hexagon');
    assert.equal(byName.code, 2);
    assert.match(byName.err, /neither an index nor one of the model's classes \(circle, square, triangle\)/);
    const byIndex = await cli('explain', tiny, img, '--class', '7', '--out', tempDir());
    assert.equal(byIndex.code, 1);
    assert.match(byIndex.err, /Class index 7 is out of range/);
  });

  it('check says a B-cos model is dynamic-linear and a softmax model is not, with the reason', async () => {
    const ok = await cli('check', tiny, '--json');
    assert.equal(ok.code, 0, ok.err);
    const j = JSON.parse(ok.out);
    assert.equal(j.dynamicLinear, true);
    assert.equal(j.frozenFactors, 5);
    assert.ok(j.worstCompletenessRel < 1e-5);
    const g = new GraphBuilder();
    g.input('input', 'float32', ['N', 2, 4, 4]);
    g.op('Softmax', [g.op('Flatten', ['input'])], {}, 'logits', 'out/Softmax');
    g.output('logits');
    const soft = path.join(tempDir(), 'soft.onnx');
    writeFileSync(soft, encodeModel(g.model()));
    const bad = await cli('check', soft);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /NOT dynamic-linear\.\n {2}.*because Softmax 'out\/Softmax' is not linear/);
  });
});
