// Jobs: one per (kind, target), cancellable, logged, observable — on a fake host (no VS Code).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { JobRunner, type JobHost, type JobInfo } from '../../../../src/extension/jobs/jobRunner';

function fakeHost() {
  const lines: string[] = [];
  const refused: string[] = [];
  const progress: [string, number | undefined][] = [];
  let cancelFromUi: (() => void) | undefined;
  const host: JobHost = {
    withProgress(_title, task) {
      void task(
        (m, f) => progress.push([m, f]),
        (cancel) => {
          cancelFromUi = cancel;
        },
      );
    },
    log: { info: (l) => lines.push(`info ${l}`), warn: (l) => lines.push(`warn ${l}`), error: (l) => lines.push(`error ${l}`) },
    refuse: (m) => refused.push(m),
  };
  return { host, lines, refused, progress, cancel: () => cancelFromUi?.() };
}

describe('jobs', () => {
  it('a second copy of the same job is refused with a clear message; another target runs', async () => {
    const h = fakeHost();
    const runner = new JobRunner(h.host);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = runner.start({
      kind: 'collect',
      target: 'm#layer3',
      title: 'Collecting features of layer3',
      run: async (ctx) => {
        ctx.report('half', 0.5);
        await gate;
        return 7;
      },
    });
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

  it("cancelling from the progress UI aborts the job's signal and ends it as cancelled", async () => {
    const h = fakeHost();
    const runner = new JobRunner(h.host);
    const states: string[] = [];
    runner.onDidChange((j: JobInfo) => states.push(j.state));
    const r = runner.start({
      kind: 'train',
      target: 'x',
      title: 'Training',
      run: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))),
    });
    assert.ok(r.started);
    h.cancel();
    await assert.rejects(r.result, /stopped/);
    assert.equal(r.job.state, 'cancelled');
    assert.deepEqual(states, ['running', 'cancelled']);
    assert.ok(h.lines.some((l) => /cancelled after/.test(l)));
  });
});
