// File-system failures as sentences a person can act on: which path, what went wrong, what to do. One mapping for
// the whole product, applied where a write names its file (writeFileAtomic) and once more at the CLI's and the
// worker's edge for anything that escaped (Node's errors carry the path and the system call).
import { FactError, isFactError } from '../errors';

const remedies: Record<string, (p: string, doing: string, bytes?: number) => string> = {
  ENOSPC: (p, doing, bytes) =>
    `The disk holding '${p}' is full (${doing}${bytes !== undefined ? `; this write needed ${formatBytes(bytes)}` : ''}). Free some space there, or choose a folder on another disk, then run the same command again: finished work is kept and the job resumes.`,
  EDQUOT: (p, doing) =>
    `The disk quota for '${p}' is used up (${doing}). Free some space, or choose another folder, then run the same command again.`,
  EROFS: (p, doing) => `'${p}' is on a read-only file system (${doing}). Choose a writable output folder (for example with --out).`,
  EACCES: (p, doing) => `Permission denied for '${p}' (${doing}). Choose a folder you can write to, or change its permissions.`,
  EPERM: (p, doing) => `The operation is not permitted on '${p}' (${doing}). Choose another folder, or change its permissions.`,
  ENOENT: (p, doing) => `'${p}' does not exist (${doing}). Check the path; a parent folder may be missing.`,
  ENOTDIR: (p, doing) => `A part of '${p}' is a file, not a folder (${doing}). Choose a folder path for the output.`,
  EISDIR: (p, doing) => `'${p}' is a folder where a file was expected (${doing}). Give a file path.`,
  EEXIST: (p, doing) => `'${p}' already exists and is in the way (${doing}). Remove it, or choose another path.`,
  EMFILE: (p, doing) => `Too many open files while ${doing} '${p}'. Close other programs or raise the limit (ulimit -n), then run again.`,
};

/** The errno error as a FactError naming the path and a remedy; undefined for anything that is not a file-system error. */
export function fileSystemError(e: unknown, file?: string, bytes?: number): FactError | undefined {
  if (isFactError(e)) return undefined;
  const err = e as NodeJS.ErrnoException;
  const remedy = typeof err?.code === 'string' ? remedies[err.code] : undefined;
  if (!remedy) return undefined;
  const p = file ?? err.path ?? 'a file';
  const doing = err.syscall ? describeSyscall(err.syscall) : 'accessing it';
  return new FactError(err.code === 'ENOSPC' || err.code === 'EDQUOT' ? 'disk-full' : 'file-system', remedy(p, doing, bytes), {
    file: p,
    errno: err.code,
    ...(bytes !== undefined ? { bytes } : {}),
  });
}

function describeSyscall(s: string): string {
  const names: Record<string, string> = {
    open: 'opening',
    write: 'writing',
    mkdir: 'creating a folder',
    rename: 'renaming into place',
    link: 'creating a lock',
    unlink: 'deleting',
    rmdir: 'removing a folder',
    read: 'reading',
    scandir: 'listing',
    stat: 'examining',
    lstat: 'examining',
    copyfile: 'copying',
    access: 'checking access',
    rm: 'deleting',
  };
  return names[s] ?? s;
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}
