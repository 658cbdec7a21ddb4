// One writer at a time per feature store or SAE checkpoint: the writer holds a lock file in the folder naming itself
// (PID, host, start time, command). A second writer is refused with the holder's name; a lock left by a process that
// no longer runs on this host (a crash, a SIGKILL) is taken over with a note. The lock is created whole and
// atomically (written aside, then hard-linked into place, which fails if one exists), so it is never seen half-written.
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FactError } from '../errors';
import { fileSystemError } from './fileSystemError';
import { makeFolder, processRuns, removeDeadTemporaries } from './files';

export const LOCK_FILE = '.fact-writer.lock';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export interface WriterLock {
  file: string;
  holder: LockHolder;
  release(): Promise<void>;
}

/** Locks this process holds: a lock naming our own PID that is not among them was left by an earlier run of ours. */
const held = new Set<string>();

/** Takes the writer lock of `dir` (created if missing) for `command`; `note` hears about a stale lock taken over. */
export async function acquireWriterLock(
  dir: string,
  command: string,
  note: (message: string) => void = () => undefined,
): Promise<WriterLock> {
  const created = !existsSync(dir);
  await makeFolder(dir);
  const file = path.join(dir, LOCK_FILE);
  const holder: LockHolder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command };
  const content = `${JSON.stringify(holder, null, 2)}\n`;
  try {
    for (let attempt = 0; ; attempt++) {
      if (await createExclusive(file, content)) break;
      if (attempt >= 3) throw new FactError('locked', `Could not take the writer lock '${file}': other jobs keep taking it.`, { file });
      const other = await readHolder(file);
      if (!other && (await isFresh(file))) {
        throw new FactError('locked', `'${dir}' is being locked by another job at this moment ('${file}'); try again in a moment.`, {
          file,
        });
      }
      if (other && !isStale(other, file)) {
        throw new FactError(
          'locked',
          `'${dir}' is being written by another job: ${describe(other)}. Wait for it to finish, or stop it; if it no longer runs, delete '${file}'.`,
          { file, holder: other },
        );
      }
      note(
        other
          ? `Taking over the lock of '${dir}' from a job that no longer runs (${describe(other)}).`
          : `Taking over an unreadable lock file in '${dir}'.`,
      );
      await fs.rm(file, { force: true });
    }
  } catch (e) {
    throw fileSystemError(e, dir) ?? e;
  }
  held.add(file);
  // The folder is ours now: what a killed writer left half-written goes.
  await removeDeadTemporaries(dir);
  return {
    file,
    holder,
    async release() {
      held.delete(file);
      const now = await readHolder(file);
      if (now && now.pid === holder.pid && now.host === holder.host && now.startedAt === holder.startedAt)
        await fs.rm(file, { force: true });
      // A folder made only to hold the lock of a job that wrote nothing is not left behind.
      if (created) await fs.rmdir(dir).catch(() => undefined);
    },
  };
}

/** Runs `work` holding the writer lock of `dir`, releasing it however `work` ends. */
export async function withWriterLock<T>(dir: string, command: string, note: (message: string) => void, work: () => Promise<T>): Promise<T> {
  const lock = await acquireWriterLock(dir, command, note);
  try {
    return await work();
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** Creates `file` holding `content` unless it exists (false then). Written aside and hard-linked into place, so it is
 *  never seen half-written; where the file system has no hard links, an exclusive create (O_EXCL) instead. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  await fs.writeFile(tmp, content);
  try {
    await fs.link(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code ?? '')) throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
  try {
    await fs.writeFile(file, content, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** A lock file written in the last few seconds may still be being filled (the O_EXCL fallback). */
async function isFresh(file: string): Promise<boolean> {
  try {
    return Date.now() - (await fs.stat(file)).mtimeMs < 5000;
  } catch {
    return false;
  }
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const h = JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Stale: held by a process of this host that no longer runs (locks of other hosts cannot be checked). */
function isStale(h: LockHolder, file: string): boolean {
  if (h.host !== os.hostname()) return false;
  if (h.pid === process.pid) return !held.has(file);
  return !processRuns(h.pid);
}

function describe(h: LockHolder): string {
  return `PID ${h.pid} on ${h.host}, started ${h.startedAt}, running \`${h.command}\``;
}
