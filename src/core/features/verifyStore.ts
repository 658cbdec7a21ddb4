// `fact verify STORE`: the full check on demand. Every shard of the store (a merged store: of every part) is hashed
// again, whatever the memo of verified shards says, and the memo is brought up to date: matching shards are
// remembered (so the next training does not hash them), damaged ones forgotten.
import * as path from 'node:path';
import { throwIfAborted } from '../errors';
import { checkShard, shardKey } from './featureStore';
import { readManifest, shardPath } from './manifest';
import { VerifiedShards } from './verifiedShards';

export interface StoreVerification {
  store: string;
  shards: number;
  vectors: number;
  bytes: number;
  good: number;
  /** Each damaged or missing shard with what is wrong with it. */
  damaged: { shard: string; problem: string }[];
  seconds: number;
}

export async function verifyStore(
  dir: string,
  opts: { memoFile?: string; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<StoreVerification> {
  const t0 = performance.now();
  const m = await readManifest(dir);
  // Hashing is forced by checking against an empty memo, whose matches are then written into the real one.
  const fresh = await VerifiedShards.open(undefined, dir);
  const memo = await VerifiedShards.open(opts.memoFile, dir);
  const damaged: StoreVerification['damaged'] = [];
  let bytes = 0;
  for (const [i, s] of m.shards.entries()) {
    throwIfAborted(opts.signal, 'Verifying the store');
    const problem = await checkShard(dir, m, s, i, fresh);
    const key = shardKey(s);
    if (problem) {
      damaged.push({ shard: path.relative(dir, shardPath(dir, s)), problem });
      await memo.forget(key);
    } else {
      const stamp = fresh.stampOf(key)!;
      bytes += Number(stamp.size);
      await memo.record(key, s.sha256, stamp);
    }
    opts.onProgress?.(i + 1, m.shards.length);
  }
  return {
    store: dir,
    shards: m.shards.length,
    vectors: m.vectors,
    bytes,
    good: m.shards.length - damaged.length,
    damaged,
    seconds: (performance.now() - t0) / 1000,
  };
}
