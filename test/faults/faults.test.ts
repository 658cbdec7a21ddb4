// The fault-injection suite: real `fact` processes on the tiny model, interrupted by SIGKILL at seeded points chosen
// by observable state (right after the Nth progress line), then run again: the result must equal an uninterrupted run
// byte for byte. Also: two writers on one store and on one checkpoint, a full disk (a small tmpfs, when this machine
// lets us mount one), read-only and misplaced outputs, and crafted manifest / atlas / card / weights files.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/core/util/safetensors';
import { LOCK_FILE } from '../../src/core/util/writerLock';
import { fixtures, repoRoot, tempDir } from '../support/paths';
import { tinyImageFolder } from '../support/tinyImages';
import { FactProcess, runFact, seededPoints, type FactRun } from './factProcess';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');
const SEED = Number(process.env.FACT_FAULT_SEED ?? 12);
const KILLS = 5;
// Kill points leave at least a third of the job's progress lines to come, so the kill always lands before the end
// (collect and evaluate print 10 lines, the atlas build about 150, training at least one per epoch of 12).
const table: { case: string; kills: string; outcome: string }[] = [];
const started = Date.now();

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const without = (o: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
const noStack = (r: FactRun) => assert.doesNotMatch(r.err, /internal error|\n\s+at /, `no stack trace:\n${r.err}`);

let root: string;
let data: string;
const collectArgs = (out: string) => [
  'collect',
  tiny,
  '--layer',
  'layer2',
  '--data',
  data,
  '--out',
  out,
  '--samples',
  '16',
  '--shard-size',
  '100',
];
const trainArgs = (store: string, out: string) => [
  'train',
  tiny,
  '--features',
  store,
  '--out',
  out,
  '--k',
  '2',
  '--dict-size',
  '16',
  '--epochs',
  '12',
  '--batch',
  '64',
  '--threads',
  '1',
];
// Derived files (evaluation records, atlas) of each checkpoint copy go to a folder of its own: the cache is keyed by
// content, and the copies are identical, so a shared cache would hand a killed run the reference's finished files.
const derived = (ckpt: string) => `${ckpt}-derived`;
const evaluateArgs = (ckpt: string) => ['evaluate', tiny, '--sae', ckpt, '--data', data, '--json', '--out', derived(ckpt)];
const conceptsArgs = (ckpt: string) => ['concepts', tiny, '--sae', ckpt, '--json', '--out', derived(ckpt)];

/** What must be identical between two stores: the manifest but its times, and every shard's bytes; no leftovers. */
function storeDigest(dir: string) {
  const files = readdirSync(dir).sort();
  return {
    files,
    manifest: without(json(path.join(dir, 'manifest.json')), 'createdAt', 'updatedAt'),
    shards: files.filter((f) => f.endsWith('.safetensors')).map((f) => [f, sha(path.join(dir, f))]),
  };
}

/** The weights byte for byte, what cfg.json says the SAE is, and no training state or lock left behind. */
function checkpointDigest(dir: string) {
  const cfg = json(path.join(dir, 'cfg.json'));
  const training = cfg.training as Record<string, unknown>;
  return {
    files: readdirSync(dir).sort(),
    weights: sha(path.join(dir, 'sae.safetensors')),
    cfg: [cfg.k, cfg.dictSize, cfg.dModel, cfg.inputScale, training.steps, training.seed],
  };
}

/** The evaluation summary without its time stamp (it holds the records' sha256). */
const evaluationDigest = (r: FactRun) => without(JSON.parse(r.out) as Record<string, unknown>, 'evaluatedAt', 'out');

function atlasDigest(r: FactRun) {
  const atlasDir = (JSON.parse(r.out) as { atlasDir: string }).atlasDir;
  const strips = path.join(atlasDir, 'concepts');
  return {
    atlas: without(json(path.join(atlasDir, 'atlas.json')), 'builtAt', 'seconds'),
    strips: readdirSync(strips)
      .sort()
      .map((f) => [f, sha(path.join(strips, f))]),
  };
}

const ref: { store?: string; ckpt?: string; storeDigest?: unknown; ckptDigest?: unknown; evaluation?: unknown; atlas?: unknown } = {};

/** A folder holding only the reference checkpoint's weights and cfg.json (no evaluation, no atlas). */
function freshCheckpointCopy(prefix: string): string {
  const dir = path.join(tempDir(prefix), 'sae');
  mkdirSync(dir);
  for (const f of ['sae.safetensors', 'cfg.json']) cpSync(path.join(ref.ckpt!, f), path.join(dir, f));
  return dir;
}

/** Kills `args` after progress line N, runs it again and checks the result. `lockDir`: the folder whose writer lock
 *  the killed run held; the run again takes it over (with a note, printed when it prints progress: not with --json)
 *  and leaves none. */
async function killThenResume(
  name: string,
  args: string[],
  pattern: RegExp,
  points: number[],
  check: (resumed: FactRun) => void,
  lockDir?: string,
) {
  for (const at of points) {
    // Progress lines are printed only without --json; the run after the kill prints the result as JSON.
    const killed = await runFact(
      args.filter((a) => a !== '--json'),
      { pattern, after: at, action: 'kill' },
    );
    assert.equal(
      killed.signal,
      'SIGKILL',
      `${name}: killed after progress line ${at} (it ended with ${killed.code} first:\n${killed.err})`,
    );
    if (lockDir) assert.ok(existsSync(path.join(lockDir, LOCK_FILE)), `${name}: the killed run held the lock of '${lockDir}'`);
    const resumed = await runFact(args);
    assert.equal(resumed.code, 0, `${name} after a kill at line ${at}:\n${resumed.err}`);
    if (lockDir) {
      if (!args.includes('--json'))
        assert.match(resumed.err, /Taking over the lock/, `${name}: the dead run's lock is taken over with a note`);
      assert.ok(!existsSync(path.join(lockDir, LOCK_FILE)), `${name}: no lock left in '${lockDir}'`);
    }
    check(resumed);
  }
}

describe('fault injection', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    root = tempDir('fact-faults-');
    data = await tinyImageFolder(320, (i, p) => (p % 8) * ((i % 5) + 1) * 20 + Math.floor(p / 8) * (i % 3) * 15 + i);
    ref.store = path.join(root, 'store');
    const c = await runFact(collectArgs(ref.store));
    assert.equal(c.code, 0, c.err);
    ref.storeDigest = storeDigest(ref.store);
    ref.ckpt = path.join(root, 'sae');
    const t = await runFact(trainArgs(ref.store, ref.ckpt));
    assert.equal(t.code, 0, t.err);
    ref.ckptDigest = checkpointDigest(ref.ckpt);
    const e = await runFact(evaluateArgs(ref.ckpt));
    assert.equal(e.code, 0, e.err);
    ref.evaluation = evaluationDigest(e);
    const a = await runFact(conceptsArgs(ref.ckpt));
    assert.equal(a.code, 0, a.err);
    ref.atlas = atlasDigest(a);
  });

  after(() => {
    const lines = ['| case | kills | outcome |', '|---|---|---|', ...table.map((r) => `| ${r.case} | ${r.kills} | ${r.outcome} |`)];
    const text = `${lines.join('\n')}\n\nseed ${SEED}; ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`;
    mkdirSync(path.join(repoRoot, '.test-output'), { recursive: true });
    writeFileSync(path.join(repoRoot, '.test-output', 'faults.md'), text);
    console.log(`\n${text}`);
  });

  it('collect: killed at seeded points and run again, the store equals an uninterrupted one', async () => {
    const base = tempDir('fact-fault-collect-');
    let n = 0;
    const points = seededPoints(SEED, KILLS, 1, 6);
    for (const at of points) {
      const out = path.join(base, `s${n++}`);
      await killThenResume(
        'collect',
        collectArgs(out),
        /^(\[\s*\d+%\] )?\d+\/\d+ images/,
        [at],
        () => assert.deepEqual(storeDigest(out), ref.storeDigest),
        out,
      );
    }
    table.push({
      case: 'collect: SIGKILL, then run again',
      kills: `${points.length} (after progress line ${points.join(', ')} of 10)`,
      outcome: 'store identical (manifest, every shard), lock taken over',
    });
  });

  it('train (--threads 1): killed at seeded points and run again, the weights equal an uninterrupted run', async () => {
    const base = tempDir('fact-fault-train-');
    const points = seededPoints(SEED + 1, KILLS, 1, 8);
    let n = 0;
    for (const at of points) {
      const out = path.join(base, `c${n++}`);
      await killThenResume(
        'train',
        trainArgs(ref.store!, out),
        /^(\[\s*\d+%\] )?epoch \d+ step/,
        [at],
        () => assert.deepEqual(checkpointDigest(out), ref.ckptDigest),
        out,
      );
    }
    table.push({
      case: 'train --threads 1: SIGKILL, then run again',
      kills: `${points.length} (after progress line ${points.join(', ')})`,
      outcome: 'sae.safetensors identical, no state or lock left',
    });
  });

  it('evaluate and the atlas build: killed at seeded points and run again, the records and the atlas equal an uninterrupted run', async () => {
    const evalPoints = seededPoints(SEED + 2, KILLS, 1, 6);
    // The batched atlas build prints only a few progress lines, too few to time kills by; it passes named points
    // instead (src/core/util/faultPoint.ts): after each batch of traces, and after each strip written.
    const strips = (ref.atlas as { strips: unknown[] }).strips.length;
    const atlasPoints = ['atlas:traced:1', ...seededPoints(SEED + 3, KILLS - 1, 1, strips - 1).map((n) => `atlas:strip-written:${n}`)];
    for (let i = 0; i < KILLS; i++) {
      const ckpt = freshCheckpointCopy('fact-fault-eval-');
      await killThenResume(
        'evaluate',
        evaluateArgs(ckpt),
        /^(\[\s*\d+%\] )?Evaluated \d+/,
        [evalPoints[i]!],
        (r) => assert.deepEqual(evaluationDigest(r), ref.evaluation),
        derived(ckpt),
      );
      const point = atlasPoints[i % atlasPoints.length]!;
      const killed = await runFact(conceptsArgs(ckpt), undefined, { FACT_FAULT_KILL: point });
      assert.equal(killed.signal, 'SIGKILL', `concepts: killed at ${point}; it ended with ${killed.code} first:\n${killed.err}`);
      assert.ok(existsSync(path.join(derived(ckpt), LOCK_FILE)), `concepts: the killed run held the lock of '${derived(ckpt)}'`);
      const resumed = await runFact(conceptsArgs(ckpt));
      assert.equal(resumed.code, 0, `concepts after a kill at ${point}:\n${resumed.err}`);
      assert.deepEqual(atlasDigest(resumed), ref.atlas, `concepts after a kill at ${point}`);
      assert.ok(!existsSync(path.join(derived(ckpt), LOCK_FILE)), 'concepts: no lock left');
    }
    table.push({
      case: 'evaluate: SIGKILL, then run again',
      kills: `${KILLS} (after progress line ${evalPoints.join(', ')} of 10)`,
      outcome: 'summary and records (sha256) identical, lock taken over',
    });
    table.push({
      case: 'concepts (atlas build): SIGKILL, then run again',
      kills: `${KILLS} (FACT_FAULT_KILL at ${atlasPoints.join(', ')} of ${strips} strips)`,
      outcome: 'atlas.json and every strip identical, lock taken over',
    });
  });

  it('two writers on one store: the second is refused naming the first; the first finishes a correct store', async () => {
    const out = path.join(tempDir('fact-fault-two-'), 'store');
    const first = new FactProcess(collectArgs(out), { pattern: /^(\[\s*\d+%\] )?\d+\/\d+ images/, after: 1, action: 'stop' });
    assert.equal(await first.faulted, true);
    const second = await runFact(collectArgs(out).map((a) => (a === '100' ? '37' : a)));
    first.resume();
    const done = await first.done;
    assert.equal(second.code, 1, second.err);
    assert.match(second.err, new RegExp(`being written by another job: PID ${first.child.pid} on .*fact collect`));
    noStack(second);
    assert.equal(done.code, 0, done.err);
    assert.deepEqual(storeDigest(out), ref.storeDigest);
    table.push({
      case: 'two `fact collect` on one --out (other --shard-size)',
      kills: '0 (first paused while the second runs)',
      outcome: 'second refused (exit 1, names PID and command); store identical to reference',
    });
  });

  it('two writers on one checkpoint: the second is refused; a finished checkpoint is not retrained without --overwrite', async () => {
    const out = path.join(tempDir('fact-fault-two-'), 'sae');
    const first = new FactProcess(trainArgs(ref.store!, out), { pattern: /^(\[\s*\d+%\] )?epoch \d+ step/, after: 1, action: 'stop' });
    assert.equal(await first.faulted, true);
    const second = await runFact(trainArgs(ref.store!, out).map((a) => (a === '16' ? '32' : a)));
    first.resume();
    const done = await first.done;
    assert.equal(second.code, 1, second.err);
    assert.match(second.err, new RegExp(`being written by another job: PID ${first.child.pid} on .*fact train`));
    assert.equal(done.code, 0, done.err);
    assert.deepEqual(checkpointDigest(out), ref.ckptDigest);
    const again = await runFact(trainArgs(ref.store!, out).map((a) => (a === '16' ? '32' : a)));
    assert.equal(again.code, 1);
    assert.match(again.err, /already holds a trained SAE.*--overwrite/);
    assert.deepEqual(checkpointDigest(out), ref.ckptDigest, 'the refused run changed nothing');
    const overwritten = await runFact([...trainArgs(ref.store!, out).map((a) => (a === '16' ? '32' : a)), '--overwrite']);
    assert.equal(overwritten.code, 0, overwritten.err);
    assert.equal(json(path.join(out, 'cfg.json')).dictSize, 32);
    table.push({
      case: 'two `fact train` on one --out; train on a finished one',
      kills: '0 (first paused)',
      outcome: 'second refused naming the holder; retrain refused without --overwrite, done with it',
    });
  });

  it('train --validate-split: killed between its writes (seeded named points) and run again, the kept weights equal an uninterrupted run', async () => {
    // A copy of the tiny model whose card ships a validation split (IDX files beside it); the same ONNX file, so the
    // reference store is its store.
    const modelDir = tempDir('fact-fault-val-');
    cpSync(path.dirname(tiny), modelDir, { recursive: true });
    const n = 48;
    const idx = (magic: number[], dims: number[], bytes: number[]) =>
      Buffer.concat([
        Buffer.from(magic),
        ...dims.map((d) => {
          const b = Buffer.alloc(4);
          b.writeUInt32BE(d);
          return b;
        }),
        Buffer.from(bytes),
      ]);
    writeFileSync(
      path.join(modelDir, 'val-images.idx'),
      idx(
        [0, 0, 8, 3],
        [n, 8, 8],
        Array.from(
          { length: n * 64 },
          (_, j) => (((j % 64) % 8) * (((j >> 6) % 5) + 1) * 20 + Math.floor((j % 64) / 8) * ((j >> 6) % 3) * 15 + (j >> 6)) % 256,
        ),
      ),
    );
    writeFileSync(
      path.join(modelDir, 'val-labels.idx'),
      idx(
        [0, 0, 8, 1],
        [n],
        Array.from({ length: n }, (_, i) => i % 3),
      ),
    );
    const card = json(path.join(modelDir, 'card.json'));
    card.data = { val: { images: 'val-images.idx', labels: 'val-labels.idx', count: n } };
    writeFileSync(path.join(modelDir, 'card.json'), JSON.stringify(card));
    const model = path.join(modelDir, 'tiny.onnx');
    const args = (out: string, epochs: number) => [
      'train',
      model,
      '--features',
      ref.store!,
      '--out',
      out,
      '--k',
      '2',
      '--dict-size',
      '16',
      '--epochs',
      String(epochs),
      '--batch',
      '64',
      '--threads',
      '1',
      '--validate-split',
      'val',
    ];
    // Points every run passes (the first validation is always kept, the final weights always written); validation
    // runs after the last epoch and every 2nd. Always among them: right after the kept weights are written, before the
    // state (the race the issue names), and between the state's two deletions at the end.
    const candidates: [number, string][] = [
      [2, 'train:best-saved:1'],
      [4, 'checkpoint:state-json-deleted:1'],
      [2, 'train:epoch-state-saved:1'],
      [2, 'train:state-saved-before-best:1'],
      [2, 'checkpoint:weights-written:1'],
      [2, 'checkpoint:weights-written:2'],
      [2, 'train:final-saved:1'],
      [2, 'checkpoint:state-json-deleted:1'],
      [4, 'train:epoch-state-saved:1'],
      [4, 'train:state-saved-before-best:1'],
      [4, 'train:best-saved:1'],
      [4, 'checkpoint:weights-written:1'],
      [4, 'train:epoch-state-saved:2'],
      [4, 'train:epoch-state-saved:3'],
      [4, 'train:final-saved:1'],
    ];
    const picked = [0, 1, ...seededPoints(SEED + 4, KILLS - 1, 2, candidates.length - 1)].map((i) => candidates[i]!);
    const reference = new Map<number, unknown>();
    for (const epochs of new Set(picked.map(([e]) => e))) {
      const out = path.join(tempDir('fact-fault-valref-'), 'sae');
      const r = await runFact(args(out, epochs));
      assert.equal(r.code, 0, r.err);
      reference.set(epochs, { ...checkpointDigest(out), validation: json(path.join(out, 'cfg.json')).validation });
    }
    for (const [epochs, point] of picked) {
      const out = path.join(tempDir('fact-fault-valkill-'), 'sae');
      const killed = await runFact(args(out, epochs), undefined, { FACT_FAULT_KILL: point });
      assert.equal(killed.signal, 'SIGKILL', `killed at ${point} (--epochs ${epochs}); it ended with ${killed.code}:\n${killed.err}`);
      const resumed = await runFact(args(out, epochs));
      assert.equal(resumed.code, 0, `after a kill at ${point} (--epochs ${epochs}):\n${resumed.err}`);
      assert.deepEqual(
        { ...checkpointDigest(out), validation: json(path.join(out, 'cfg.json')).validation },
        reference.get(epochs),
        `after a kill at ${point} (--epochs ${epochs})`,
      );
    }
    table.push({
      case: 'train --validate-split: SIGKILL between two writes (FACT_FAULT_KILL), then run again',
      kills: `${picked.length} (${picked.map(([e, p]) => `${p} of --epochs ${e}`).join(', ')})`,
      outcome: 'sae.safetensors and the validation history identical, no state or lock left',
    });
  });

  it('two writers of one derived folder (--out, and the shared cache): the second is refused naming the first; the first finishes', async () => {
    // --out: an atlas build holds the folder; an evaluation and a C² run into it are refused.
    const ckpt = freshCheckpointCopy('fact-fault-two-derived-');
    const evaluated = await runFact(evaluateArgs(ckpt));
    assert.equal(evaluated.code, 0, evaluated.err);
    const first = new FactProcess(
      conceptsArgs(ckpt).filter((a) => a !== '--json'),
      { pattern: /^(\[\s*\d+%\] )?Tracing concepts/, after: 1, action: 'stop' },
    );
    assert.equal(await first.faulted, true);
    const second = await runFact(evaluateArgs(ckpt));
    const third = await runFact(['consistency', tiny, '--sae', ckpt, '--json', '--out', derived(ckpt)]);
    first.resume();
    const done = await first.done;
    for (const r of [second, third]) {
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        new RegExp(
          `being written by another job: PID ${first.child.pid} on .*\`fact concepts ${tiny.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} --sae`,
        ),
      );
      noStack(r);
    }
    assert.equal(done.code, 0, done.err);
    const after = await runFact(conceptsArgs(ckpt));
    assert.equal(after.code, 0, after.err);
    assert.deepEqual(atlasDigest(after), ref.atlas, "the first run's atlas is whole and current");
    // The cache (no --out): two processes on copies of one checkpoint share its content-keyed folder.
    const cache = { FACT_CACHE: tempDir('fact-fault-two-cache-') };
    const a = freshCheckpointCopy('fact-fault-two-cache-a-');
    const b = freshCheckpointCopy('fact-fault-two-cache-b-');
    const evalA = new FactProcess(
      ['evaluate', tiny, '--sae', a, '--data', data],
      { pattern: /^(\[\s*\d+%\] )?Evaluated \d+/, after: 1, action: 'stop' },
      cache,
    );
    assert.equal(await evalA.faulted, true);
    const evalB = await runFact(['evaluate', tiny, '--sae', b, '--data', data, '--json'], undefined, cache);
    evalA.resume();
    const doneA = await evalA.done;
    assert.equal(evalB.code, 1, evalB.err);
    assert.match(evalB.err, new RegExp(`being written by another job: PID ${evalA.child.pid} on .*\`fact evaluate`));
    noStack(evalB);
    assert.equal(doneA.code, 0, doneA.err);
    table.push({
      case: 'two writers of one derived folder: concepts vs evaluate and consistency (--out); evaluate vs evaluate of a copy (shared cache)',
      kills: '0 (first paused)',
      outcome: 'second refused (exit 1, names PID and command); first finishes, atlas identical',
    });
  });

  it('a full disk (small tmpfs): collect and train stop with a message naming the path; collect resumes once there is room', async (t) => {
    const mnt = tempDir('fact-fault-tmpfs-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (e) {
      const why = `mount is not permitted here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()})`;
      table.push({ case: 'full disk', kills: '—', outcome: `skipped: ${why}` });
      t.skip(why);
      return;
    }
    try {
      const out = path.join(mnt, 'store');
      const full = await runFact(collectArgs(out));
      assert.equal(full.code, 1, full.err);
      assert.match(full.err, /disk is full while writing the feature store/);
      noStack(full);
      execFileSync('mount', ['-o', 'remount,size=8m', mnt]);
      const resumed = await runFact(collectArgs(out));
      assert.equal(resumed.code, 0, resumed.err);
      assert.deepEqual(storeDigest(out), ref.storeDigest);
    } finally {
      execFileSync('umount', [mnt]);
    }
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'tmpfs', mnt]);
    try {
      const train = await runFact(trainArgs(ref.store!, path.join(mnt, 'sae')));
      assert.equal(train.code, 1, train.err);
      assert.match(train.err, /disk holding '.*' is full .*Free some space/);
      noStack(train);
    } finally {
      execFileSync('umount', [mnt]);
    }
    table.push({
      case: 'full disk (tmpfs 64 KiB, then 8 MiB; train into 12 KiB)',
      kills: '—',
      outcome: 'exit 1 naming the path, no stack; collect resumed to an identical store',
    });
  });

  it('read-only and misplaced outputs: a message naming the path and what to do, exit 1, no stack', async (t) => {
    const file = path.join(tempDir('fact-fault-out-'), 'a-file');
    writeFileSync(file, 'x');
    for (const out of [file, path.join(file, 'sub')]) {
      const r = await runFact(collectArgs(out));
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, new RegExp(`'${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      noStack(r);
    }
    const mnt = tempDir('fact-fault-ro-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch {
      table.push({
        case: '--out a file / inside a file',
        kills: '—',
        outcome: 'exit 1 naming the path, no stack (read-only part skipped: mount not permitted)',
      });
      t.diagnostic('read-only checks skipped: mount is not permitted here');
      return;
    }
    try {
      const ckpt = path.join(mnt, 'sae');
      mkdirSync(ckpt);
      for (const f of ['sae.safetensors', 'cfg.json']) cpSync(path.join(ref.ckpt!, f), path.join(ckpt, f));
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      // A read-only checkpoint evaluates: what it derives goes to the cache, never into the checkpoint folder.
      const ev = await runFact(['evaluate', tiny, '--sae', ckpt, '--data', data, '--json']);
      assert.equal(ev.code, 0, ev.err);
      // Asked to put them on the read-only disk, it says where and what to do.
      const evRo = await runFact(evaluateArgs(ckpt));
      assert.equal(evRo.code, 1);
      assert.match(evRo.err, /sae-derived.*EROFS.*--out/);
      noStack(evRo);
      const tr = await runFact(trainArgs(ref.store!, path.join(mnt, 'new')));
      assert.equal(tr.code, 1);
      assert.match(tr.err, /read-only file system/);
      noStack(tr);
    } finally {
      execFileSync('umount', [mnt]);
    }
    table.push({
      case: '--out a file / inside a file; evaluate and train on a read-only file system',
      kills: '—',
      outcome: 'exit 1 naming the path and what to do, no stack',
    });
  });

  it('crafted files cannot make us read outside their folder', async () => {
    // A manifest whose shard names climb out, or link out, of the store.
    for (const [i, name, expect] of [
      [0, '../../../../../../etc/passwd', /shards\[0\]\.file.*climbs out/],
      [1, '/dev/zero', /shards\[1\]\.file.*absolute path/],
      [2, 'zero.safetensors', /shards\[2\]\.file.*outside the folder/],
    ] as const) {
      const store = path.join(tempDir('fact-fault-evil-'), 'store');
      cpSync(ref.store!, store, { recursive: true });
      symlinkSync('/dev/zero', path.join(store, 'zero.safetensors'));
      const m = json(path.join(store, 'manifest.json')) as { shards: { file: string }[] };
      m.shards[i]!.file = name;
      writeFileSync(path.join(store, 'manifest.json'), JSON.stringify(m));
      const r = await runFact(trainArgs(store, path.join(path.dirname(store), 'sae')));
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /manifest\.json/);
      assert.match(r.err, expect);
      noStack(r);
    }
    // An atlas whose strip names another file.
    const ckpt = path.join(tempDir('fact-fault-evil-'), 'sae');
    cpSync(ref.ckpt!, ckpt, { recursive: true });
    const evaluated = await runFact(evaluateArgs(ckpt));
    assert.equal(evaluated.code, 0, evaluated.err);
    const atlasDir = (JSON.parse((await runFact(conceptsArgs(ckpt))).out) as { atlasDir: string }).atlasDir;
    const atlas = json(path.join(atlasDir, 'atlas.json')) as { concepts: { strip?: string }[] };
    atlas.concepts[0]!.strip = '../../../../../../etc/passwd';
    writeFileSync(path.join(atlasDir, 'atlas.json'), JSON.stringify(atlas));
    const strip = await runFact(['concepts', tiny, '--sae', ckpt, '--concept', '0', '--json', '--out', derived(ckpt)]);
    assert.equal(strip.code, 1, strip.err);
    assert.match(strip.err, /atlas\.json.*concepts\[0\]\.strip.*climbs out/);
    // An evaluation summary whose dataset is a device, or a relative path climbing out: the atlas build refuses it.
    const summaryFile = path.join(derived(ckpt), 'evaluation.json');
    const summary = json(summaryFile);
    for (const [dataset, expect] of [
      [{ kind: 'idx', images: '/dev/zero', labels: '/dev/zero' }, /evaluation\.json.*"dataset\.images".*is not a regular file/],
      [{ kind: 'folder', path: '../../../../../../etc' }, /evaluation\.json.*"dataset\.path".*is not an absolute path/],
    ] as const) {
      writeFileSync(summaryFile, JSON.stringify({ ...summary, dataset }));
      const r = await runFact(['concepts', tiny, '--sae', ckpt, '--rebuild', '--json', '--out', derived(ckpt)]);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, expect);
      noStack(r);
    }
    // A checkpoint whose weights or cfg.json link to a device: refused at once, never read forever.
    for (const linked of ['sae.safetensors', 'cfg.json']) {
      const dev = path.join(tempDir('fact-fault-dev-'), 'sae');
      mkdirSync(dev);
      for (const f of ['sae.safetensors', 'cfg.json']) if (f !== linked) cpSync(path.join(ref.ckpt!, f), path.join(dev, f));
      symlinkSync('/dev/zero', path.join(dev, linked));
      const r = await runFact(evaluateArgs(dev));
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, new RegExp(`${linked.replace('.', '\\.')}' is not a regular file`));
      noStack(r);
    }
    // A model card whose data split points outside the model's folder.
    const modelDir = tempDir('fact-fault-card-');
    cpSync(path.dirname(tiny), modelDir, { recursive: true });
    const card = json(path.join(modelDir, 'card.json'));
    card.data = { test: { images: '../../../../../../etc/passwd', labels: 'labels.idx', count: 10 } };
    writeFileSync(path.join(modelDir, 'card.json'), JSON.stringify(card));
    const split = await runFact(['evaluate', path.join(modelDir, 'tiny.onnx'), '--sae', ref.ckpt!, '--split', 'test']);
    assert.equal(split.code, 1, split.err);
    assert.match(split.err, /card\.json.*data\.test\.images.*climbs out/);
    // An SAE whose weights hold a NaN (cfg.json and shapes intact).
    const nan = path.join(tempDir('fact-fault-nan-'), 'sae');
    mkdirSync(nan);
    cpSync(path.join(ref.ckpt!, 'cfg.json'), path.join(nan, 'cfg.json'));
    const w = await readSafetensors(path.join(ref.ckpt!, 'sae.safetensors'));
    const enc = Float32Array.from(w.tensors['encoder.weight']!.data as Float32Array);
    enc[5] = NaN;
    await writeSafetensors(path.join(nan, 'sae.safetensors'), {
      'encoder.weight': { shape: w.tensors['encoder.weight']!.shape, data: enc },
      'decoder.weight': { shape: w.tensors['decoder.weight']!.shape, data: w.tensors['decoder.weight']!.data as Float32Array },
    });
    const bad = await runFact(evaluateArgs(nan));
    assert.equal(bad.code, 1, bad.err);
    assert.match(bad.err, /encoder\.weight.*NaN at element 5/);
    assert.ok(!existsSync(path.join(nan, 'evaluation.json')), 'nothing written');
    table.push({
      case: 'crafted manifest (.., absolute, symlink to /dev/zero), atlas strip, evaluation summary dataset (/dev/zero, relative ..), weights and cfg.json linked to /dev/zero, card data path; NaN weights',
      kills: '—',
      outcome: 'exit 1 naming the file and field; nothing read outside',
    });
  });
});
