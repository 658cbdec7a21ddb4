import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { CoreWorker } from '../../../src/core/jobs/workerClient';
import { isFactError } from '../../../src/core/errors';
import { fixtures } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');
const sourceWorker = { file: path.resolve(__dirname, '../../../src/core/jobs/workerMain.ts'), typescript: true };

describe('the core worker thread', () => {
  it('inspects a model off the main thread', async () => {
    const w = new CoreWorker({}, sourceWorker);
    try {
      const r = await w.call('inspect', { model: tiny });
      assert.equal(r.layers.length, 4);
    } finally {
      await w.dispose();
    }
  });

  it('keeps the error code and message of a failure in the worker', async () => {
    const w = new CoreWorker({}, sourceWorker);
    try {
      await assert.rejects(w.call('inspect', { model: '/nonexistent.onnx' }), (e: unknown) => isFactError(e) && e.code === 'file-missing');
    } finally {
      await w.dispose();
    }
  });

  it('settles a cancelled call at once and stays usable afterwards', async () => {
    const w = new CoreWorker({}, sourceWorker, 200);
    try {
      const abort = new AbortController();
      const p = w.call('inspect', { model: tiny }, { signal: abort.signal });
      abort.abort();
      await assert.rejects(p, /cancelled/);
      await new Promise((r) => setTimeout(r, 300));
      const r = await w.call('inspect', { model: tiny });
      assert.equal(r.imageInput.name, 'input');
    } finally {
      await w.dispose();
    }
  });

  it('reports progress and per-image errors of a prediction', async () => {
    const w = new CoreWorker({}, sourceWorker);
    const progress: string[] = [];
    try {
      const r = await w.call('predict', { model: tiny, images: ['/nonexistent.png'] }, { onProgress: (m) => progress.push(m) });
      assert.match(r.results[0]!.error ?? '', /does not exist/);
      assert.deepEqual(progress, ['Predicting /nonexistent.png']);
    } finally {
      await w.dispose();
    }
  });
});
