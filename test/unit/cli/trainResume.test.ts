// A training run resumed while the cancelled run is still saving its state (as the editor does when its worker
// call settles at once on cancel) waits for that run and then resumes from its saved state.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { handlers } from '../../../src/core/jobs/methods';
import { CoreServices } from '../../../src/core/jobs/services';
import { cli } from '../../support/cli';
import { fixtures, tempDir } from '../../support/paths';
import { tinyImageFolder } from '../../support/tinyImages';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

describe('resuming a cancelled SAE training', () => {
  it('waits for the cancelled run to finish saving, then resumes from it', async () => {
    const data = await tinyImageFolder(48, (i, p) => (p % 8) * ((i % 5) + 1) * 20 + Math.floor(p / 8) * (i % 3) * 15);
    const store = path.join(tempDir('fact-resume-'), 'features');
    assert.equal((await cli('collect', tiny, '--layer', 'layer2', '--data', data, '--out', store, '--samples', '16')).code, 0);
    const out = path.join(tempDir('fact-resume-'), 'sae');
    const services = new CoreServices({ threads: 1 });
    const abort = new AbortController();
    const params = { model: tiny, features: store, out, k: 2, dictSize: 16, epochs: 4, batchSize: 32 };
    let cancelledAt = 0;
    const first = handlers.train(params, services, {
      signal: abort.signal,
      progress: (_m, _f, d) => {
        if (d?.kind === 'train' && !abort.signal.aborted) {
          cancelledAt = d.step;
          abort.abort();
        }
      },
    });
    first.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 0));
    // Started before the first run has settled: it must wait for it rather than read a half-saved state.
    const second = handlers.train({ ...params, resume: true }, services, {
      signal: new AbortController().signal,
      progress: () => undefined,
    });
    await assert.rejects(first, /cancelled/);
    const r = await second;
    assert.ok(cancelledAt > 0);
    assert.equal(r.resumed, true);
    assert.equal(r.steps, 4 * Math.floor((48 * 16) / 32));
    // The job's thread count (--threads, the extension's fact.threads) reached the training step and is recorded.
    assert.equal(r.threads, 1);
    const cfg = JSON.parse(readFileSync(path.join(out, 'cfg.json'), 'utf8'));
    assert.equal(cfg.training.threads, 1);
    assert.ok(cfg.metrics.fvu > 0 && cfg.metrics.l0 > 0, 'last-epoch metrics recorded');
    await services.dispose();
  });
});
