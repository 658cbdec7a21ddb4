// The on-disk cache of explanation graphs: a second Explainer reuses the optimised graph and the probed shapes and
// explains exactly as the first did; a damaged entry is rebuilt, never fatal.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Explainer } from '../../../src/core/engine/explainer';
import { GraphCache, STALE_AFTER_MS } from '../../../src/core/engine/graphCache';
import { CoreServices } from '../../../src/core/jobs/services';
import { explanationGraphsFolder } from '../../../src/core/sae/saeFolder';
import { openModel } from '../../../src/core/model/modelContext';
import { fixtures, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

async function explainOnce(cache: string | undefined): Promise<Float32Array> {
  const ctx = await openModel(tiny);
  const explainer = await Explainer.create(ctx, cache ? { graphCache: cache } : {});
  const { channels, height, width } = ctx.imageInput;
  const side = ctx.preprocess.centerCrop;
  const n = channels * (height ?? side) * (width ?? side);
  const [e] = await explainer.explain(
    Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 101),
    1,
  );
  await explainer.dispose();
  return e!.weights;
}

const entries = (dir: string, ext: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort();

describe('the explanation-graph cache', () => {
  it('stores the optimised graph and the shapes, and a second explainer reuses them with the same result', async () => {
    const dir = tempDir('fact-graph-cache-');
    const plain = await explainOnce(undefined);
    const first = await explainOnce(dir);
    assert.deepEqual(first, plain);
    const graphs = entries(dir, '.ort');
    assert.equal(graphs.length, 1, 'one graph (the full explanation) is cached');
    assert.equal(entries(dir, '.json').length, 2, 'its metadata and the probed shapes');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
      'no temporary files are left',
    );
    const written = statSync(path.join(dir, graphs[0]!)).ino; // a write renames a new file into place
    const second = await explainOnce(dir);
    assert.deepEqual(second, plain);
    assert.equal(statSync(path.join(dir, graphs[0]!)).ino, written, 'the cached graph was read, not written again');
  });

  it(
    'maps the cached graph into memory instead of reading it (Linux: the file is in /proc/self/maps while in use)',
    { skip: process.platform !== 'linux' && 'needs /proc/self/maps' },
    async () => {
      const dir = tempDir('fact-graph-cache-');
      const plain = await explainOnce(dir);
      const graph = path.join(dir, entries(dir, '.ort')[0]!);
      const mapped = () => readFileSync('/proc/self/maps', 'utf8').includes(graph);
      assert.equal(mapped(), false, 'nothing maps it before a second explainer opens it');
      const ctx = await openModel(tiny);
      const explainer = await Explainer.create(ctx, { graphCache: dir });
      const { channels, height, width } = ctx.imageInput;
      const side = ctx.preprocess.centerCrop;
      const n = channels * (height ?? side) * (width ?? side);
      const [e] = await explainer.explain(
        Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 101),
        1,
      );
      assert.deepEqual(e!.weights, plain);
      assert.equal(mapped(), true, 'the second session runs on the mapped file');
      await explainer.dispose();
      assert.equal(mapped(), false, 'disposing the explainer unmaps it');
    },
  );

  it('rebuilds a damaged graph or shapes entry instead of failing', async () => {
    const dir = tempDir('fact-graph-cache-');
    const plain = await explainOnce(dir);
    const onnx = path.join(dir, entries(dir, '.ort')[0]!);
    const good = readFileSync(onnx);
    writeFileSync(onnx, 'not an onnx file');
    assert.deepEqual(await explainOnce(dir), plain);
    const isOrtModel = (b: Buffer) => b.length > 1000 && b.subarray(4, 8).toString('latin1') === 'ORTM';
    assert.ok(isOrtModel(good), "the cached graph is in onnxruntime's format");
    assert.ok(isOrtModel(readFileSync(onnx)), 'the graph entry was written again');
    writeFileSync(onnx, good.subarray(0, Math.floor(good.length / 2)));
    assert.deepEqual(await explainOnce(dir), plain, 'a truncated graph is rebuilt');
    assert.ok(readFileSync(onnx).length > good.length / 2 + 8);
    for (const json of entries(dir, '.json')) writeFileSync(path.join(dir, json), '{ truncated');
    assert.deepEqual(await explainOnce(dir), plain);
    for (const json of entries(dir, '.json')) assert.doesNotThrow(() => JSON.parse(readFileSync(path.join(dir, json), 'utf8')), json);
  });

  it('removes entries unused for a month when it stores a graph, and keeps those in use', async () => {
    const dir = tempDir('fact-graph-cache-');
    const plain = await explainOnce(dir);
    const old = (Date.now() - STALE_AFTER_MS - 24 * 3600 * 1000) / 1000;
    for (const f of readdirSync(dir)) utimesSync(path.join(dir, f), old, old);
    assert.deepEqual(await explainOnce(dir), plain, 'an old entry still serves until it is pruned');
    const used = readdirSync(dir).sort();
    const stale = path.join(dir, 'ffffffffffffffffffffffffffffffff');
    writeFileSync(`${stale}.json`, '{}');
    writeFileSync(`${stale}.ort`, 'left by an older engine');
    utimesSync(`${stale}.json`, old, old);
    utimesSync(`${stale}.ort`, old, old);
    const cache = new GraphCache(dir);
    const session = await cache.createAndStore(
      '0'.repeat(32),
      readFileSync(tiny),
      { executionProviders: ['cpu'], logSeverityLevel: 3 },
      { outputs: [], frozen: [], pathLength: 0, biasNodes: [] },
    );
    await session.release();
    assert.deepEqual(
      readdirSync(dir).sort(),
      [...used, `${'0'.repeat(32)}.json`, `${'0'.repeat(32)}.ort`].sort(),
      'the stale entry is gone, the used ones and the new one stay',
    );
  });

  it("lives in the services' cache root when they cache graphs, and nowhere when they do not", async () => {
    const root = tempDir('fact-cache-root-');
    const without = new CoreServices({ cacheRoot: root });
    await (await without.explainer(tiny)).report();
    await without.dispose();
    assert.deepEqual(readdirSync(root), [], 'services without cacheGraphs write no graph');
    const caching = new CoreServices({ cacheRoot: root, cacheGraphs: true });
    await (await caching.explainer(tiny)).report();
    await caching.dispose();
    assert.deepEqual(readdirSync(root), [path.basename(explanationGraphsFolder(root))]);
    assert.equal(entries(explanationGraphsFolder(root), '.ort').length, 1);
  });
});
