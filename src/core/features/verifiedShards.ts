// A memo of the shards whose checksum was computed and found as the manifest says, so that opening the store again
// (a resume, the next training) does not hash them again. A shard counts as verified only while its size, mtime,
// ctime and inode are those it had when it was hashed and the manifest still gives the same sha256; anything else
// (rewritten, replaced, touched, re-collected) is hashed again when next read. It lives in the cache, not in the
// store: training only reads a store, which may be read-only or shared. Losing it costs one hash pass, nothing else.
import { createHash } from 'node:crypto';
import { promises as fs, type BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/files';

/** What identifies one version of a shard's file without reading it. */
export interface ShardStamp {
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

interface VerifiedEntry extends ShardStamp {
  sha256: string;
}

interface VerifiedFile {
  format: 1;
  kind: 'fact-verified-shards';
  store: string;
  shards: Record<string, VerifiedEntry>;
}

export function stampOf(st: BigIntStats): ShardStamp {
  return { size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), ino: String(st.ino) };
}

/** The memo of a store (by its real path) in a cache folder. */
export async function verifiedShardsFile(cacheRoot: string, storeDir: string): Promise<string> {
  const real = await fs.realpath(storeDir).catch(() => path.resolve(storeDir));
  return path.join(cacheRoot, 'verified-shards', `${createHash('sha256').update(real).digest('hex').slice(0, 32)}.json`);
}

export class VerifiedShards {
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string | undefined,
    private readonly store: string,
    private readonly shards: Record<string, VerifiedEntry>,
  ) {}

  /** The memo at `file` (none: remembers for this process only). An unreadable or foreign file is an empty memo. */
  static async open(file: string | undefined, storeDir: string): Promise<VerifiedShards> {
    const store = path.resolve(storeDir);
    if (!file) return new VerifiedShards(undefined, store, {});
    try {
      const j = JSON.parse(await fs.readFile(file, 'utf8')) as VerifiedFile;
      if (j.kind === 'fact-verified-shards' && j.format === 1 && j.store === store && j.shards && typeof j.shards === 'object')
        return new VerifiedShards(file, store, j.shards);
    } catch {
      /* no memo yet, or a damaged one: start afresh */
    }
    return new VerifiedShards(file, store, {});
  }

  /** Whether this version of the shard was hashed and matched `sha256`. */
  has(key: string, sha256: string, stamp: ShardStamp): boolean {
    const e = this.shards[key];
    return (
      e !== undefined &&
      e.sha256 === sha256 &&
      e.size === stamp.size &&
      e.mtimeNs === stamp.mtimeNs &&
      e.ctimeNs === stamp.ctimeNs &&
      e.ino === stamp.ino
    );
  }

  /** The stamp a shard was verified with. */
  stampOf(key: string): ShardStamp | undefined {
    const e = this.shards[key];
    return e ? { size: e.size, mtimeNs: e.mtimeNs, ctimeNs: e.ctimeNs, ino: e.ino } : undefined;
  }

  get size(): number {
    return Object.keys(this.shards).length;
  }

  /** Remembers a shard that matched; writes the memo atomically (one write at a time). A memo that cannot be written
   *  (read-only cache) is kept for this process only: it saves time, it is never needed. */
  record(key: string, sha256: string, stamp: ShardStamp): Promise<void> {
    this.shards[key] = { ...stamp, sha256 };
    return this.save();
  }

  forget(key: string): Promise<void> {
    if (!(key in this.shards)) return Promise.resolve();
    delete this.shards[key];
    return this.save();
  }

  private save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    this.writes = this.writes.then(async () => {
      const body: VerifiedFile = { format: 1, kind: 'fact-verified-shards', store: this.store, shards: this.shards };
      await writeFileAtomic(file, `${JSON.stringify(body)}\n`).catch(() => undefined);
    });
    return this.writes;
  }
}
