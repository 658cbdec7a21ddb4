// The whole FaCT pipeline through the CLI on the tiny model: collect → train → evaluate → concepts → consistency →
// explain through concepts (with the HTML report).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as path from 'node:path';
import sharp from 'sharp';
import { cli } from '../../support/cli';
import { writeFoundation } from '../../support/foundationModel';
import { fixtures, tempDir } from '../../support/paths';

/** Every file below `dir` with its bytes' length and content, to compare a folder before and after. */
function folderSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, name);
    if (statSync(file).isFile()) out[name] = readFileSync(file).toString('base64');
  }
  return out;
}

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

describe('the FaCT pipeline through the CLI', () => {
  it('collects, trains, evaluates, builds the atlas, measures C² and explains a decision through concepts', async () => {
    const root = tempDir('fact-pipe-');
    const data = path.join(root, 'data');
    for (let i = 0; i < 48; i++) {
      const dir = path.join(data, ['circle', 'square', 'triangle'][i % 3]!);
      mkdirSync(dir, { recursive: true });
      await sharp(
        Uint8Array.from({ length: 64 }, (_, p) => ((p % 8) * ((i % 5) + 1) * 20 + Math.floor(p / 8) * (i % 3) * 15) % 256),
        { raw: { width: 8, height: 8, channels: 1 } },
      )
        .png()
        .toFile(path.join(dir, `${i}.png`));
    }
    const store = path.join(root, 'features');
    const collect = await cli('collect', tiny, '--layer', 'layer2', '--data', data, '--out', store, '--samples', '16', '--json');
    assert.equal(collect.code, 0, collect.err);
    assert.equal(JSON.parse(collect.out).vectors, 48 * 16);
    const ckpt = path.join(root, 'sae');
    const train = await cli(
      'train',
      tiny,
      '--features',
      store,
      '--out',
      ckpt,
      '--k',
      '2',
      '--dict-size',
      '16',
      '--epochs',
      '3',
      '--batch',
      '64',
      '--json',
    );
    assert.equal(train.code, 0, train.err);
    assert.ok(existsSync(path.join(ckpt, 'sae.safetensors')) && existsSync(path.join(ckpt, 'cfg.json')));
    const checkpointAsTrained = folderSnapshot(ckpt);
    // What evaluate, concepts and consistency derive goes to the cache ($FACT_CACHE), never into the checkpoint.
    const cache = tempDir('fact-pipe-cache-');
    const suiteCache = process.env.FACT_CACHE;
    process.env.FACT_CACHE = cache;
    const evaluate = await cli('evaluate', tiny, '--sae', ckpt, '--data', data, '--json');
    assert.equal(evaluate.code, 0, evaluate.err);
    const metrics = JSON.parse(evaluate.out).metrics;
    assert.equal(metrics.images, 48);
    assert.ok(metrics.worstCompletenessRel <= 1e-5, `completeness ${metrics.worstCompletenessRel}`);
    assert.ok(JSON.parse(evaluate.out).out.startsWith(path.join(cache, 'saes')), JSON.parse(evaluate.out).out);
    assert.ok(existsSync(path.join(JSON.parse(evaluate.out).out, 'evaluation.json')));
    const concepts = await cli('concepts', tiny, '--sae', ckpt, '--json');
    assert.equal(concepts.code, 0, concepts.err);
    assert.equal(JSON.parse(concepts.out).rebuilt, true);
    assert.equal(
      JSON.parse((await cli('concepts', tiny, '--sae', ckpt, '--json')).out).rebuilt,
      false,
      'the atlas is reused while the checkpoint is unchanged',
    );
    const alive = JSON.parse(evaluate.out).metrics.alive;
    assert.ok(alive > 0);
    const outOfRange = await cli('concepts', tiny, '--sae', ckpt, '--concept', '16');
    assert.equal(outOfRange.code, 1);
    assert.match(outOfRange.err, /Concept 16 is out of range/);
    const c2 = await cli('consistency', tiny, '--sae', ckpt, '--foundation', writeFoundation(root), '--json');
    assert.equal(c2.code, 0, c2.err);
    assert.ok(Number.isFinite(JSON.parse(c2.out).mean));
    assert.ok(existsSync(path.join(JSON.parse(c2.out).out, 'consistency.png')));
    // A folder with no evaluation, and a card with no test split to make one on: the user is asked to name a dataset.
    const unevaluated = await cli(
      'consistency',
      tiny,
      '--sae',
      ckpt,
      '--foundation',
      path.join(root, 'foundation.onnx'),
      '--out',
      path.join(root, 'unevaluated'),
    );
    assert.equal(unevaluated.code, 1);
    assert.match(unevaluated.err, /ships no test split to evaluate it on: run `fact evaluate --data DIR` \(or FaCT: Evaluate SAE\) first/);
    assert.deepEqual(folderSnapshot(ckpt), checkpointAsTrained, 'the checkpoint folder is unchanged');
    // --out puts them elsewhere, and the later commands find them there with the same --out.
    const out = path.join(root, 'derived');
    assert.equal((await cli('evaluate', tiny, '--sae', ckpt, '--data', data, '--limit', '12', '--out', out)).code, 0);
    assert.equal(JSON.parse((await cli('concepts', tiny, '--sae', ckpt, '--out', out, '--json')).out).atlasDir, path.join(out, 'atlas'));
    // Back to this file's temporary cache (test/support/cli.ts), never the user's.
    process.env.FACT_CACHE = suiteCache;
    const html = path.join(root, 'report.html');
    const explain = await cli('explain', tiny, path.join(data, 'circle', '0.png'), '--sae', ckpt, '--html', html);
    assert.equal(explain.code, 0, explain.err);
    assert.match(
      explain.out,
      /completeness {3}Σ c_k \+ bias = logit: −?\d+\.\d{4} \+ (\(−\d+\.\d{4}\)|\d+\.\d{4}) = −?\d+\.\d{4}; completeness error \d\.\de−\d+/,
    );
    assert.match(explain.out, /1\. \w+ +logit +-?\d+\.\d{4} +p +\d+\.\d\d% +model's own logit +-?\d+\.\d{4}/);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /<img [^>]*src="data:image\/png;base64,/);
    assert.doesNotMatch(page, /<script|https?:\/\//, 'self-contained: no scripts, no remote resources');
    const combined = path.join(root, 'all.html');
    const several = await cli(
      'explain',
      tiny,
      path.join(data, 'circle', '0.png'),
      path.join(data, 'square', '1.png'),
      '--sae',
      ckpt,
      '--html',
      combined,
    );
    assert.equal(several.code, 0, several.err);
    assert.equal((readFileSync(combined, 'utf8').match(/<section[ >]/g) ?? []).length, 2, 'one section per image');
  });

  it("concepts evaluates an SAE that has no current evaluation first (on the card's test split), then builds the atlas", async () => {
    const root = tempDir('fact-pipe-auto-');
    // The tiny model with a card that ships a test split of 24 images as IDX.
    const idx = (type: number, dims: number[], data: number[]) => {
      const head = Buffer.alloc(4 + 4 * dims.length);
      head[2] = type;
      head[3] = dims.length;
      dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
      return gzipSync(Buffer.concat([head, Buffer.from(data)]));
    };
    const n = 24;
    writeFileSync(
      path.join(root, 'test-images.gz'),
      idx(
        8,
        [n, 8, 8],
        Array.from(
          { length: n * 64 },
          (_, p) => ((p % 8) * ((Math.floor(p / 64) % 5) + 1) * 20 + (Math.floor(p / 8) % 8) * (Math.floor(p / 64) % 3) * 15) % 256,
        ),
      ),
    );
    writeFileSync(
      path.join(root, 'test-labels.gz'),
      idx(
        8,
        [n],
        Array.from({ length: n }, (_, i) => i % 3),
      ),
    );
    copyFileSync(tiny, path.join(root, 'tiny.onnx'));
    const card = JSON.parse(readFileSync(path.join(fixtures, 'tiny', 'card.json'), 'utf8'));
    card.data = { test: { images: 'test-images.gz', labels: 'test-labels.gz', count: n } };
    writeFileSync(path.join(root, 'card.json'), JSON.stringify(card));
    const model = path.join(root, 'tiny.onnx');
    const store = path.join(root, 'features');
    assert.equal((await cli('collect', model, '--layer', 'layer2', '--split', 'test', '--out', store, '--samples', '16')).code, 0);
    const ckpt = path.join(root, 'sae');
    const train = await cli(
      'train',
      model,
      '--features',
      store,
      '--out',
      ckpt,
      '--k',
      '2',
      '--dict-size',
      '16',
      '--epochs',
      '2',
      '--batch',
      '64',
    );
    assert.equal(train.code, 0, train.err);
    const concepts = await cli('concepts', model, '--sae', ckpt, '--json');
    assert.equal(concepts.code, 0, concepts.err);
    // The atlas needs the per-image records: the core evaluates first, into the same cache, and says so.
    assert.equal(JSON.parse(concepts.out).evaluated, true);
    assert.equal(JSON.parse(concepts.out).rebuilt, true);
    assert.match(concepts.err, /evaluated first on the model card's test split/);
    const again = await cli('concepts', model, '--sae', ckpt, '--concept', '0');
    assert.equal(again.code, 0, again.err);
    assert.doesNotMatch(again.err, /evaluated first/, 'evaluated once');
    // C² needs the records too: into a folder of its own (--out), the core evaluates first there as well.
    const elsewhere = path.join(root, 'derived');
    const c2 = await cli('consistency', model, '--sae', ckpt, '--foundation', writeFoundation(root), '--out', elsewhere, '--json');
    assert.equal(c2.code, 0, c2.err);
    assert.equal(JSON.parse(c2.out).evaluated, true);
    assert.ok(existsSync(path.join(elsewhere, 'evaluation.json')) && existsSync(path.join(elsewhere, 'consistency.png')));
  });
});
