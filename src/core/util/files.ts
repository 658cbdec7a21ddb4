// File-system edges shared by the core: reading with errors that name the file, and atomic writes.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError } from '../errors';
import { fileSystemError } from './fileSystemError';

/** Reads a whole file; a missing or unreadable file becomes a FactError naming it. */
export async function readFileOrThrow(file: string, what = 'file'): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new FactError('file-missing', `The ${what} '${file}' does not exist.`, { file });
    if (err.code === 'EISDIR') throw new FactError('file-missing', `The ${what} '${file}' is a folder, not a file.`, { file });
    throw new FactError('file-missing', `Cannot read the ${what} '${file}': ${err.message}`, { file });
  }
}

/** Writes through a temporary file in the same folder and renames it over the target, so readers never see half a file. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw fileSystemError(e, file, typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength) ?? e;
  }
}
