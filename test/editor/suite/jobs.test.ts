// Jobs: one per (kind, target), cancellable, logged, observable; and FaCT: Collect Features as a real job.
import * as assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { JobRunner, type JobHost, type JobInfo } from '../../../src/extension/jobs/jobRunner';
import { factApi, waitFor, workspaceDefaultModel, workspaceRoot } from './helpers';

function fakeHost() {
  const lines: string[] = [];
  const refused: string[] = [];
  const progress: [string, number | undefined][] = [];
  let cancelFromUi: (() => void) | undefined;
  const host: JobHost = {
    withProgress(_title, task) {
      void task((m, f) => progress.push([m, f]), (cancel) => { cancelFromUi = cancel; });
    },
    log: { info: (l) => lines.push(`info ${l}`), warn: (l) => lines.push(`warn ${l}`), error: (l) => lines.push(`error ${l}`) },
    refuse: (m) => refused.push(m),
  };
  return { host, lines, refused, progress, cancel: () => cancelFromUi?.() };
}

suite('FaCT: jobs', () => {
  test('a second copy of the same job is refused with a clear message; another target runs', async () => {
    const h = fakeHost();
    const runner = new JobRunner(h.host);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = runner.start({ kind: 'collect', target: 'm#layer3', title: 'Collecting features of layer3', run: async (ctx) => { ctx.report('half', 0.5); await gate; return 7; } });
    assert.ok(a.started);
    const again = runner.start({ kind: 'collect', target: 'm#layer3', title: 'Collecting features of layer3', run: async () => 8 });
    assert.equal(again.started, false);
    assert.match(h.refused[0]!, /already collecting features of layer3 \(started \d+ s ago, 50 % done\)/);
    const other = runner.start({ kind: 'collect', target: 'm#layer4', title: 'Collecting features of layer4', run: async () => 9 });
    assert.ok(other.started);
    assert.equal(runner.list().length, 2, 'both run');
    assert.equal(await other.result, 9);
    assert.equal(runner.list().length, 1, 'layer4 finished, layer3 still runs');
    release();
    assert.equal(await a.result, 7);
    assert.equal(runner.list().length, 0);
    assert.ok(h.lines.some((l) => /Job #1 finished/.test(l)));
    assert.deepEqual(h.progress[0], ['half', 0.5]);
  });

  test('cancelling from the progress UI aborts the job\'s signal and ends it as cancelled', async () => {
    const h = fakeHost();
    const runner = new JobRunner(h.host);
    const states: string[] = [];
    runner.onDidChange((j: JobInfo) => states.push(j.state));
    const r = runner.start({ kind: 'train', target: 'x', title: 'Training', run: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))) });
    assert.ok(r.started);
    h.cancel();
    await assert.rejects(r.result, /stopped/);
    assert.equal(r.job.state, 'cancelled');
    assert.deepEqual(states, ['running', 'cancelled']);
    assert.ok(h.lines.some((l) => /cancelled after/.test(l)));
  });

  test('FaCT: Collect Features collects a layer of the default model as a job with progress, and refuses a duplicate', async function () {
    this.timeout(60_000);
    const api = await factApi();
    const model = workspaceDefaultModel();
    const outDir = path.join(workspaceRoot(), '.fact-test', 'features-layer3');
    await fs.rm(outDir, { recursive: true, force: true });
    const warnings: string[] = [];
    const restore = api.scriptUi({ info: async () => undefined, warn: async (m) => { warnings.push(m); return undefined; } });
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
      assert.ok(events.some((e) => e.state === 'running' && e.fraction !== undefined && e.fraction > 0), 'progress events carry a fraction');
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
    const restore = api.scriptUi({ quickPick: async (items) => { offered = (await items).map((i) => i.label); return undefined; } });
    try {
      assert.equal(await api.collectFeatures({ model }), undefined, 'dismissing the quick pick starts nothing');
    } finally {
      restore();
    }
    assert.deepEqual(offered.slice(0, 3), ['layer2', 'layer3', 'layer4']);
    assert.ok(offered.includes('layer1') && offered.includes('classifier'));
  });
});
