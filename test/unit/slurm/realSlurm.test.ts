// Collection and training as jobs of a real (throw-away, one-node) Slurm cluster: a 4-task array collection with one
// task cancelled midway and resumed, merged into a store equal to a one-machine collection byte for byte per image;
// a training job whose checkpoint equals a local run; Slurm's own refusals shown. Skipped, with the reason printed,
// where the cluster cannot start (not root, no apt-get). Waits for states (squeue, the part-stores), never for times.
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PARTS_DIR, readManifest } from '../../../src/core/features/manifest';
import { partName } from '../../../src/core/features/mergeParts';
import { LOCK_FILE } from '../../../src/core/util/writerLock';
import { defaultModelDir, repoRoot, tempDir } from '../../support/paths';
import { startSlurmCluster, type SlurmCluster } from '../../support/slurmCluster';
import { storeBytesPerImage } from '../../support/storeImages';
import { cli } from '../../support/cli';

const model = path.join(defaultModelDir, 'model.onnx');
const IMAGES = 400;
const collectArgs = [
  'collect',
  model,
  '--layer',
  'layer3',
  '--limit',
  String(IMAGES),
  '--samples',
  '8',
  '--shard-size',
  '40',
  '--dtype',
  'float16',
  '--threads',
  '1',
];
/** Polls are bounded so that a broken cluster fails the test instead of hanging it (the whole file runs in < 2 min). */
const POLLS = 1200;

let cluster: SlurmCluster | undefined;
let skip: string | undefined;

function squeue(): { id: string; state: string; comment: string }[] {
  const out = spawnSync('squeue', ['-h', '-r', '--states=all', '-o', '%i|%T|%k'], { env: cluster!.env, encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, state, comment] = l.split('|');
      return { id: id!, state: state!, comment: comment! };
    });
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < POLLS; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting until ${what}; queue: ${JSON.stringify(squeue())}`);
}

const finished = (id: string) => () =>
  squeue().some((j) => j.id === id && !['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING'].includes(j.state));
const active = (comment: string) =>
  squeue().filter((j) => j.comment === comment && ['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING'].includes(j.state));

describe('on a real Slurm cluster', () => {
  before(async () => {
    // The batch jobs run bin/fact.js, which runs the built bundle.
    if (!existsSync(path.join(repoRoot, 'dist', 'cli.js'))) {
      skip = 'dist/cli.js is not built (npm run build)';
      return;
    }
    const r = await startSlurmCluster();
    if (r.cluster) {
      cluster = r.cluster;
      // The in-process CLI calls (fact merge) ask this cluster too.
      process.env.SLURM_CONF = cluster.env.SLURM_CONF;
    } else {
      skip = r.reason;
      console.log(`# Slurm tests skipped: ${skip}`);
    }
  });
  after(async () => {
    delete process.env.SLURM_CONF;
    await cluster?.stop();
  });

  const store = path.join(tempDir('fact-slurm-store-'), 'features');
  const single = path.join(tempDir('fact-slurm-single-'), 'features');

  it('collects as a 4-task array; a task cancelled midway resumes its part; the merge equals a one-machine collection byte for byte per image', async (t) => {
    if (skip) return t.skip(skip);
    const t0 = Date.now();
    const submitted = await cli(...[...collectArgs, '--out', store, '--slurm', '--tasks', '4']);
    assert.equal(submitted.code, 0, submitted.err);
    const plan = JSON.parse(readFileSync(path.join(store, 'slurm', 'collect.json'), 'utf8'));
    const arrayJob = plan.submissions[0].arrayJobId as string;
    assert.match(readFileSync(plan.script, 'utf8'), /#SBATCH --array=0-3/);
    // Midway by observed state: task 1's part-store holds its first shard but is not complete.
    const part1 = path.join(store, PARTS_DIR, partName(1));
    await until('task 1 has written a shard', () => {
      if (!existsSync(path.join(part1, 'manifest.json'))) return false;
      const m = JSON.parse(readFileSync(path.join(part1, 'manifest.json'), 'utf8'));
      return m.shards.length > 0;
    });
    // Held right there: Slurm suspends the task (SIGSTOP), so it stays midway whatever the machine's load.
    const held = spawnSync('scontrol', ['suspend', `${arrayJob}_1`], { env: cluster!.env, encoding: 'utf8' });
    assert.equal(held.status, 0, held.stderr);
    // Merging by hand now is refused, naming task 1, how far it got, and Slurm's word on it.
    const early = await cli('merge', store);
    assert.equal(early.code, 1);
    assert.match(early.err, /Part '.*part-001' \(task 1\) is not complete: \d+ of 100 images collected; its job \d+_1 is SUSPENDED/);
    assert.equal(spawnSync('scancel', [`${arrayJob}_1`], { env: cluster!.env }).status, 0);
    console.log(`# task 1 cancelled after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const collectComment = `fact:collect:${store}`;
    await until(
      'the other tasks have finished and the merge job is gone',
      () => active(collectComment).length === 0 && active(`fact:merge:${store}`).length === 0,
    );
    assert.equal(squeue().find((j) => j.id === `${arrayJob}_1`)?.state, 'CANCELLED');
    const stopped = await readManifest(part1);
    assert.ok(
      !stopped.complete && stopped.shards.length > 0,
      `task 1 should have stopped midway (${stopped.imagesDone} done of ${JSON.stringify(stopped.range)})`,
    );
    assert.ok(!existsSync(path.join(store, 'manifest.json')), 'nothing was merged');
    const listed = await cli(...['jobs']);
    assert.match(listed.out, new RegExp(`${arrayJob}_1\\s+collect\\s+CANCELLED.*\\d+/100 images.*collect-${arrayJob}_1\\.out`));

    console.log(`# all but task 1 done after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const resumed = await cli(...[...collectArgs, '--out', store, '--slurm', '--resume', '--json']);
    assert.equal(resumed.code, 0, resumed.err);
    const r = JSON.parse(resumed.out);
    assert.deepEqual(r.resubmitted, [1]);
    await until('the resumed task and the merge have finished', finished(r.submission.mergeJobId));
    const wall = (Date.now() - t0) / 1000;
    const resumedPart = await readManifest(part1);
    assert.deepEqual(
      resumedPart.shards.slice(0, stopped.shards.length),
      stopped.shards,
      'the resumed task kept the shards it had and went on from there',
    );
    const merged = await readManifest(store);
    assert.ok(merged.complete, readFileSync(path.join(store, 'slurm', 'logs', `merge-${r.submission.mergeJobId}.out`), 'utf8'));
    assert.equal(merged.parts!.length, 4);

    const t1 = Date.now();
    const mergedBy = await cli(...['merge', store]);
    assert.equal(mergedBy.code, 0, mergedBy.err);
    console.log(`# merge by hand: ${mergedBy.out.trim()}`);
    const t2 = Date.now();
    const local = await cli(...[...collectArgs, '--out', single]);
    assert.equal(local.code, 0, local.err);
    console.log(
      `# 4-task Slurm collection of ${IMAGES} images incl. a cancel and resume: ${wall.toFixed(1)} s; one machine: ${((Date.now() - t2) / 1000).toFixed(1)} s; merge by hand incl. CLI start ${((t2 - t1) / 1000).toFixed(1)} s`,
    );
    const a = await storeBytesPerImage(single);
    const b = await storeBytesPerImage(store);
    assert.equal(b.size, IMAGES);
    for (const [image, bytes] of a) assert.ok(b.has(image) && Buffer.compare(bytes, b.get(image)!) === 0, `image ${image} differs`);
  });

  it('trains as a requeueable job, survives a requeue midway, and ends with the checkpoint of a local run', async (t) => {
    if (skip) return t.skip(skip);
    assert.ok(existsSync(path.join(store, 'manifest.json')), 'needs the merged store of the collection test');
    const t0 = Date.now();
    const dir = tempDir('fact-slurm-train-');
    const trainArgs = [
      'train',
      model,
      '--features',
      store,
      '--k',
      '4',
      '--dict-size',
      '64',
      '--epochs',
      '40',
      '--batch',
      '64',
      '--threads',
      '1',
    ];
    const submitted = await cli(...[...trainArgs, '--out', path.join(dir, 'slurm'), '--slurm', '--requeue', '--time', '10', '--json']);
    assert.equal(submitted.code, 0, submitted.err);
    const job = JSON.parse(submitted.out).jobId as string;
    // Midway by observed state: the first of 40 epochs is saved and the job still runs. Then Slurm requeues it (as
    // after preemption): SIGTERM, the state saved, the job queued again.
    const state = () => squeue().find((j) => j.id === job)?.state;
    await until('the first epoch is saved', () => existsSync(path.join(dir, 'slurm', 'train-state.json')));
    const tr = Date.now();
    // Held right there (SIGSTOP), so the requeue finds it midway whatever the machine's load.
    const held = spawnSync('scontrol', ['suspend', job], { env: cluster!.env, encoding: 'utf8' });
    assert.equal(held.status, 0, held.stderr);
    const requeued = spawnSync('scontrol', ['requeue', job], { env: cluster!.env, encoding: 'utf8' });
    assert.equal(requeued.status, 0, requeued.stderr);
    // Slurm holds a requeued (suspended) job back — an admin hold and a later begin time; let it start again now.
    await until('the job is queued again', () => state() === 'PENDING');
    // Slurm wakes the stopped first run only to end it (SIGCONT, SIGTERM): it saves its state and lets go of the
    // checkpoint's writer lock. The job starts again once that has happened (a second writer would be refused).
    const lock = path.join(dir, 'slurm', LOCK_FILE);
    const holderRuns = () => {
      if (!existsSync(lock)) return false;
      try {
        process.kill((JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until('the first run has stopped and released the checkpoint', () => !holderRuns());
    spawnSync('scontrol', ['release', job], { env: cluster!.env });
    spawnSync('scontrol', ['update', `JobId=${job}`, 'StartTime=now'], { env: cluster!.env });
    await until('the training job has finished', finished(job));
    console.log(
      `# training job: requeued after ${((tr - t0) / 1000).toFixed(1)} s, finished ${((Date.now() - tr) / 1000).toFixed(1)} s later`,
    );
    const log = readFileSync(path.join(dir, 'slurm', 'slurm', 'logs', `train-${job}.out`), 'utf8');
    assert.equal(state(), 'COMPLETED', log);
    assert.match(log, /steps in .* \(resumed\)/);
    const local = await cli(...[...trainArgs, '--out', path.join(dir, 'local')]);
    assert.equal(local.code, 0, local.err);
    const weights = (d: string) => readFileSync(path.join(dir, d, 'sae.safetensors'));
    assert.ok(
      Buffer.compare(weights('slurm'), weights('local')) === 0,
      `the Slurm-trained weights differ from the local run's; log:\n${log}`,
    );
  });

  it("shows Slurm's own message when it refuses a job: an unknown partition, a time limit over the partition's", async (t) => {
    if (skip) return t.skip(skip);
    const t0 = Date.now();
    const out = path.join(tempDir('fact-slurm-refused-'), 'features');
    const partition = await cli(...[...collectArgs, '--out', out, '--slurm', '--partition', 'nosuchpartition']);
    assert.equal(partition.code, 1);
    assert.match(partition.err, /Slurm refused the job .*collect\.sbatch: .*[Ii]nvalid partition/);
    const time = await cli(...[...collectArgs, '--out', `${out}-2`, '--slurm', '--time', '2-00:00:00']);
    assert.equal(time.code, 1);
    assert.match(time.err, /Slurm refused the job .*: .*time limit/i);
    // `fact jobs cancel` on a job that waits (it may not start for an hour).
    const waiting = await cli(
      ...[...collectArgs, '--out', `${out}-3`, '--slurm', '--tasks', '1', '--sbatch-args=--begin=now+1hour', '--json'],
    );
    assert.equal(waiting.code, 0, waiting.err);
    const id = JSON.parse(waiting.out).submission.arrayJobId as string;
    const cancelled = await cli('jobs', 'cancel', id);
    assert.equal(cancelled.code, 0, cancelled.err);
    console.log(`# refusals and a cancel: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await until(
      'the waiting job is cancelled',
      () => squeue().some((j) => j.id.startsWith(id) && j.state === 'CANCELLED') && active(`fact:collect:${out}-3`).length === 0,
    );
  });
});
