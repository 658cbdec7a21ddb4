// A store whose shards and size are not multiples of the batch (the `--shard-size 4900` case): every vector is used
// each epoch and the learning-rate schedule plans exactly the steps that run.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { cli } from '../../support/cli';
import { fixtures, tempDir } from '../../support/paths';
import { tinyImageFolder } from '../../support/tinyImages';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

describe('the training schedule from the store', () => {
  it('plans the steps the store yields, using every vector', async () => {
    const data = await tinyImageFolder(48, (i, p) => (p % 8) * ((i % 5) + 1) * 20 + Math.floor(p / 8) * (i % 3) * 15);
    const store = path.join(tempDir('fact-sched-'), 'features');
    const c = await cli(
      'collect',
      tiny,
      '--layer',
      'layer2',
      '--data',
      data,
      '--out',
      store,
      '--samples',
      '15',
      '--shard-size',
      '49',
      '--json',
    );
    assert.equal(c.code, 0, c.err);
    const m = JSON.parse(c.out) as { vectors: number; shards: { vectors: number }[] };
    assert.equal(m.vectors, 720);
    assert.ok(
      m.shards.every((s) => s.vectors === 60),
      'shards of 60 vectors: none a multiple of the batch of 64',
    );
    const t = await cli(
      'train',
      tiny,
      '--features',
      store,
      '--out',
      path.join(path.dirname(store), 'sae'),
      '--k',
      '2',
      '--dict-size',
      '16',
      '--epochs',
      '2',
      '--batch',
      '64',
    );
    assert.equal(t.code, 0, t.err);
    // 720 = 11 × 64 + 16: 12 batches per epoch, the last of 16 vectors. The schedule planned (every progress line's
    // total; in a log they come at most every 10 s) and the steps run (the result) are both 24.
    const planned = new Set([...t.err.matchAll(/step (\d+)\/(\d+)/g)].map((m) => Number(m[2])));
    assert.deepEqual([...planned], [24]);
    assert.match(t.out, /^ {2}24 steps in /m);
  });
});
