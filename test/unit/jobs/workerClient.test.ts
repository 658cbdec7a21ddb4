import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { CoreWorker } from '../../../src/core/jobs/workerClient';
import { isFactError } from '../../../src/core/errors';
import { checkpointFiles } from '../../../src/core/sae/saeFolder';
import { fixtures, tempDir } from '../../support/paths';

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

  it(
    'a cancelled training is never cut short: it stops after its step and saves the state it resumes from',
    { timeout: 120_000 },
    async () => {
      const root = tempDir('fact-worker-train-');
      const data = path.join(root, 'data');
      for (let i = 0; i < 24; i++) {
        const dir = path.join(data, ['a', 'b', 'c'][i % 3]!);
        mkdirSync(dir, { recursive: true });
        await sharp(
          Uint8Array.from({ length: 64 }, (_, p) => (p * (i + 3) * 7) % 256),
          { raw: { width: 8, height: 8, channels: 1 } },
        )
          .png()
          .toFile(path.join(dir, `${i}.png`));
      }
      // A grace of 1 ms: any other cancelled call would get its worker terminated at once.
      const w = new CoreWorker({}, sourceWorker, 1);
      try {
        const features = path.join(root, 'features');
        await w.call('collect', {
          model: tiny,
          layer: 'layer2',
          dataset: { kind: 'folder', path: data },
          outDir: features,
          samplesPerImage: 16,
        });
        const out = path.join(root, 'sae');
        const abort = new AbortController();
        const training = w.call(
          'train',
          { model: tiny, features, out, k: 2, dictSize: 16, epochs: 200, batchSize: 8 },
          {
            signal: abort.signal,
            onProgress: (_m, _f, d) => {
              if (d?.kind === 'train') abort.abort();
            },
          },
        );
        await assert.rejects(training, /cancelled/);
        // The worker finishes the step, saves the state and answers; a later call runs on the same worker.
        const r = await w.call('inspect', { model: tiny });
        assert.equal(r.layers.length, 4);
        await waitUntil(() => existsSync(path.join(out, checkpointFiles.trainStateJson)));
      } finally {
        await w.dispose();
      }
    },
  );
});

/** Resolves once `ready()` holds, checking after each turn of the event loop (a state, never a fixed time). */
async function waitUntil(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 20));
}
