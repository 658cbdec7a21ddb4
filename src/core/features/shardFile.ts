// Reading one shard file: contained in its folder (containedFile.ts), bounded by the size its manifest entry allows,
// in chunks so that hashing runs while the next chunk is read and never blocks the event loop for long (a training
// step's completion is handled between chunks), and with the file's stamp taken from the same open handle.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { FactError } from '../errors';
import { containedFile, type NamedBy } from '../util/containedFile';
import { stampOf, type ShardStamp } from './verifiedShards';

const CHUNK = 8 << 20;

export interface ShardRead {
  /** The file's bytes (when asked to keep them). */
  bytes?: Buffer;
  /** Its sha256 (when asked to hash). */
  sha256?: string;
  stamp: ShardStamp;
}

/** `want.hash`: hash the bytes, or decide from the file's stamp (e.g. not when it was verified before). */
/** `want.into`: a buffer to read into when it is large enough (reused from shard to shard: no fresh pages each time). */
/** `name` may name a file in a subfolder of `dir` (a merged store's part): it must still lie inside `dir`. */
export async function readShardFile(
  dir: string,
  name: string,
  by: NamedBy & { maxBytes: number },
  want: { keep: boolean; hash: boolean | ((stamp: ShardStamp) => boolean); into?: Buffer },
): Promise<ShardRead> {
  const file = await containedFile(dir, name, by, true);
  const handle = await fs.open(file, 'r');
  try {
    const st = await handle.stat({ bigint: true });
    const size = Number(st.size);
    if (size > by.maxBytes) {
      throw new FactError(
        by.code ?? 'bad-input',
        `'${file}', named in "${by.field}" of '${by.file}', holds ${size} bytes, more than the ${by.maxBytes} its entry allows.`,
        { file, field: by.field, size, maxBytes: by.maxBytes },
      );
    }
    const stamp = stampOf(st);
    const hash = (typeof want.hash === 'function' ? want.hash(stamp) : want.hash) ? createHash('sha256') : undefined;
    const bytes = want.keep ? (want.into && want.into.length >= size ? want.into.subarray(0, size) : Buffer.allocUnsafe(size)) : undefined;
    const scratch = bytes ? undefined : Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
    let off = 0;
    while (off < size && (bytes || hash)) {
      const into = bytes ?? scratch!;
      const at = bytes ? off : 0;
      const { bytesRead } = await handle.read(into, at, Math.min(CHUNK, size - off), off);
      if (bytesRead === 0) break;
      hash?.update(into.subarray(at, at + bytesRead));
      off += bytesRead;
    }
    return {
      ...(bytes ? { bytes: off === size ? bytes : bytes.subarray(0, off) } : {}),
      ...(hash ? { sha256: hash.digest('hex') } : {}),
      stamp,
    };
  } finally {
    await handle.close();
  }
}
