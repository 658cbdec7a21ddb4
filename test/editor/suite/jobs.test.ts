// FaCT: Collect Features as a real job (the job runner's rules: test/unit/extension/jobs/jobRunner.test.ts).
import * as assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { JobInfo } from '../../../src/extension/jobs/jobRunner';
import { factApi, waitFor, workspaceDefaultModel, workspaceRoot } from './helpers';

suite('FaCT: jobs', () => {
  test('FaCT: Collect Features collects a layer of the default model as a job with progress, and refuses a duplicate', async function () {
    this.timeout(60_000);
    const api = await factApi();
    const model = workspaceDefaultModel();
    const outDir = path.join(workspaceRoot(), '.fact-test', 'features-layer3');
    await fs.rm(outDir, { recursive: true, force: true });
    const warnings: string[] = [];
    const restore = api.scriptUi({
      info: async () => undefined,
      warn: async (m) => {
        warnings.push(m);
        return undefined;
      },
    });
    const events: JobInfo[] = [];
    const sub = api.jobs.onDidChange((j) => events.push({ ...j }));
    try {
      const first = api.collectFeatures({ model, layer: 'layer3', outDir, limit: 300 });
      // The job is visible while it runs; a second copy is refused.
      await waitFor('the collect job to run', () => api.jobs.list().find((j) => j.kind === 'collect' && j.target === `${model}#layer3`));
      const dup = await api.collectFeatures({ model, layer: 'layer3', outDir, limit: 300 });
      assert.equal(dup, undefined);
      assert.match(warnings[0] ?? '', /FaCT is already collecting features of layer3/);
      const m = await first;
      assert.ok(m, 'the collect job returned its manifest');
      assert.equal(m.complete, true);
      assert.equal(m.layer.name, 'layer3');
      assert.equal(m.imagesDone, 300);
      assert.ok(existsSync(path.join(outDir, 'manifest.json')));
      assert.ok(
        events.some((e) => e.state === 'running' && e.fraction !== undefined && e.fraction > 0),
        'progress events carry a fraction',
      );
      assert.equal(events.at(-1)?.state, 'succeeded');
      assert.equal(api.choices.layer(model), 'layer3', 'the layer is remembered');
      assert.deepEqual(api.choices.dataset(model), { kind: 'split', split: 'train' }, "the card's train split was the default");
    } finally {
      sub.dispose();
      restore();
      await fs.rm(path.join(workspaceRoot(), '.fact-test'), { recursive: true, force: true });
    }
  });

  test('the layer quick pick lists the card layers first', async () => {
    const api = await factApi();
    const model = workspaceDefaultModel();
    await api.choices.setLayer(model, undefined);
    let offered: string[] = [];
    const restore = api.scriptUi({
      quickPick: async (items) => {
        offered = (await items).map((i) => i.label);
        return undefined;
      },
    });
    try {
      assert.equal(await api.collectFeatures({ model }), undefined, 'dismissing the quick pick starts nothing');
    } finally {
      restore();
    }
    assert.deepEqual(offered.slice(0, 3), ['layer2', 'layer3', 'layer4']);
    assert.ok(offered.includes('layer1') && offered.includes('classifier'));
  });
});
