// File names read from files we did not just write (a shared store's manifest, an atlas, a cfg.json, a model card)
// must not be able to make us read anything else: the name must be a plain file name inside its folder (or, for a
// card, a relative path that stays inside it), it must not be a symlink leading out of the folder, it must be a
// regular file, and a read is bounded by the size its writer declared before any memory is allocated.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError, type FactErrorCode } from '../errors';

/** Who named the file: shown in every refusal so the user can find the bad entry. */
export interface NamedBy {
  /** The file that holds the name (e.g. the manifest). */
  file: string;
  /** The field that holds it (e.g. `shards[3].file`). */
  field: string;
  /** The error code to report (default 'bad-input'). */
  code?: FactErrorCode;
}

function refuse(by: NamedBy, name: unknown, why: string): FactError {
  return new FactError(
    by.code ?? 'bad-input',
    `'${by.file}' names ${JSON.stringify(name)} in its field "${by.field}", which ${why}; only a file inside its folder is accepted.`,
    { file: by.file, field: by.field, name },
  );
}

/** Checks the spelling alone: a plain file name (`allowSubfolders`: a relative path) that cannot leave `dir`. */
export function containedPath(dir: string, name: unknown, by: NamedBy, allowSubfolders = false): string {
  if (typeof name !== 'string' || name === '') throw refuse(by, name, 'is not a file name');
  if (name.includes('\0')) throw refuse(by, name, 'contains a NUL character');
  if (path.isAbsolute(name) || path.win32.isAbsolute(name)) throw refuse(by, name, 'is an absolute path');
  const parts = name.split(/[\\/]/);
  if (parts.some((p) => p === '..')) throw refuse(by, name, 'climbs out of its folder with ".."');
  if (!allowSubfolders && parts.length > 1) throw refuse(by, name, 'is a path, not a plain file name');
  if (parts.some((p) => p === '' || p === '.')) throw refuse(by, name, 'is not a plain relative path');
  return path.join(dir, name);
}

/** The path of a contained, existing regular file; a symlink is followed only while it stays inside `dir`. */
export async function containedFile(dir: string, name: unknown, by: NamedBy, allowSubfolders = false): Promise<string> {
  const file = containedPath(dir, name, by, allowSubfolders);
  let real: string;
  let realDir: string;
  try {
    [real, realDir] = await Promise.all([fs.realpath(file), fs.realpath(dir)]);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new FactError(by.code ?? 'file-missing', `'${file}', named in "${by.field}" of '${by.file}', does not exist.`, {
        file,
        field: by.field,
      });
    throw new FactError(by.code ?? 'bad-input', `Cannot read '${file}', named in "${by.field}" of '${by.file}': ${(e as Error).message}`, {
      file,
      field: by.field,
    });
  }
  const rel = path.relative(realDir, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel))
    throw refuse(by, name, `is a link to '${real}', outside the folder '${dir}'`);
  const st = await fs.stat(real);
  if (!st.isFile()) throw refuse(by, name, 'is not a regular file');
  return real;
}

/** Reads a contained file whole, refusing one larger than `maxBytes` before allocating anything. */
export async function readContainedFile(
  dir: string,
  name: unknown,
  by: NamedBy & { maxBytes: number },
  allowSubfolders = false,
): Promise<Buffer> {
  const file = await containedFile(dir, name, by, allowSubfolders);
  const handle = await fs.open(file, 'r');
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw refuse(by, name, 'is not a regular file');
    if (st.size > by.maxBytes) {
      throw new FactError(
        by.code ?? 'bad-input',
        `'${file}', named in "${by.field}" of '${by.file}', holds ${st.size} bytes, more than the ${by.maxBytes} its entry allows.`,
        { file, field: by.field, size: st.size, maxBytes: by.maxBytes },
      );
    }
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await handle.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } finally {
    await handle.close();
  }
}
