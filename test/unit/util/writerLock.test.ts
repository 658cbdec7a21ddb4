// One writer per store or checkpoint: the lock names its holder, refuses a second writer, and is taken over from a
// process that no longer runs.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireWriterLock, LOCK_FILE, withWriterLock } from '../../../src/core/util/writerLock';
import { tempDir } from '../../support/paths';

describe('writer locks', () => {
  it('refuses a second writer naming the holder, and releases on the way out', async () => {
    const dir = tempDir('fact-lock-');
    const lock = await acquireWriterLock(dir, 'fact collect a');
    const holder = JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'));
    assert.deepEqual([holder.pid, holder.host, holder.command], [process.pid, os.hostname(), 'fact collect a']);
    assert.ok(!Number.isNaN(Date.parse(holder.startedAt)));
    await assert.rejects(
      acquireWriterLock(dir, 'fact collect b'),
      new RegExp(`being written by another job: PID ${process.pid} on ${os.hostname()}, started .*\`fact collect a\``),
    );
    await lock.release();
    assert.ok(!existsSync(path.join(dir, LOCK_FILE)));
    await assert.rejects(
      withWriterLock(
        dir,
        'c',
        () => undefined,
        async () => {
          throw new Error('boom');
        },
      ),
      /boom/,
    );
    assert.ok(!existsSync(path.join(dir, LOCK_FILE)), 'released after a failure too');
  });

  it('takes over the lock of a process that no longer runs, with a note; never one of another host', async () => {
    const dir = tempDir('fact-lock-');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const left = (pid: number, host: string) =>
      writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid, host, startedAt: '2026-01-01T00:00:00Z', command: 'fact train x' }));
    left(dead, os.hostname());
    writeFileSync(path.join(dir, `shard-00003.safetensors.tmp-${dead}`), 'half');
    const notes: string[] = [];
    const lock = await acquireWriterLock(dir, 'fact train y', (m) => notes.push(m));
    assert.match(notes.join('\n'), new RegExp(`Taking over the lock .* no longer runs \\(PID ${dead} on`));
    assert.ok(!existsSync(path.join(dir, `shard-00003.safetensors.tmp-${dead}`)), "the dead writer's temporary is gone");
    await lock.release();
    left(dead, 'another-host');
    await assert.rejects(acquireWriterLock(dir, 'z'), /PID \d+ on another-host/);
  });

  it('an unreadable lock is refused while it may still be being written, and taken over once old', async () => {
    const dir = tempDir('fact-lock-');
    const file = path.join(dir, LOCK_FILE);
    writeFileSync(file, '');
    await assert.rejects(acquireWriterLock(dir, 'x'), /being locked by another job at this moment/);
    utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const notes: string[] = [];
    await (await acquireWriterLock(dir, 'x', (m) => notes.push(m))).release();
    assert.match(notes.join(), /Taking over an unreadable lock file/);
  });

  it('leaves no folder behind when it made one only for the lock', async () => {
    const dir = path.join(tempDir('fact-lock-'), 'new');
    await withWriterLock(
      dir,
      'x',
      () => undefined,
      async () => undefined,
    );
    assert.ok(!existsSync(dir));
  });
});
