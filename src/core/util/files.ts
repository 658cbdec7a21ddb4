// File-system edges shared by the core: reading with errors that name the file, and atomic writes.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError } from '../errors';
import { fileSystemError } from './fileSystemError';

/** Reads a whole file; a missing or unreadable file becomes a FactError naming it. */
export async function readFileOrThrow(file: string, what = 'file'): Promise<Buffer> {
  try {
    await requireRegularFile(file, what);
    return await fs.readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new FactError('file-missing', `The ${what} '${file}' does not exist.`, { file });
    if (err.code === 'EISDIR') throw new FactError('file-missing', `The ${what} '${file}' is a folder, not a file.`, { file });
    throw new FactError('file-missing', `Cannot read the ${what} '${file}': ${err.message}`, { file });
  }
}

/** A file read whole must be a regular file: a device (/dev/zero) or a pipe in a shared folder, or a link to one,
 *  would never end. A missing file is left to the read that follows (its error names the file). */
export async function requireRegularFile(file: string, what = 'file'): Promise<void> {
  const st = await fs.stat(file).catch(() => undefined);
  if (st && !st.isFile() && !st.isDirectory())
    throw new FactError('bad-input', `The ${what} '${file}' is not a regular file (a device, a pipe or a link to one); give a file.`, {
      file,
    });
}

/** Writes through a temporary file in the same folder and renames it over the target, so readers never see half a file. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    await makeFolder(path.dirname(file));
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw fileSystemError(e, file, typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength) ?? e;
  }
}

/** Deletes the temporaries (`NAME.tmp-PID-…`) that writers killed mid-write left in `dir`: only those of processes that
 *  no longer run, so a live writer's file is never touched. */
export async function removeDeadTemporaries(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /\.tmp-(\d+)(?:-[0-9a-z]+)?$/.exec(name);
    if (m && !processRuns(Number(m[1]))) await fs.rm(path.join(dir, name), { force: true }).catch(() => undefined);
  }
}

/** Whether a process with this PID runs on this machine. */
export function processRuns(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** mkdir -p whose failure names the real cause: Node's recursive mkdir reports a read-only file system as ENOENT. */
export async function makeFolder(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(path.dirname(dir))) throw fileSystemError(e, dir) ?? e;
    try {
      await fs.mkdir(dir);
    } catch (inner) {
      throw fileSystemError(inner, dir) ?? inner;
    }
  }
}
