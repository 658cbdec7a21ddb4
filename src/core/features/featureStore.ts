// Reading a feature store. Opening costs no pass over the data: it reads the manifest and checks that every shard
// file is where it says (contained in the store, present). Each shard's checksum is verified as it is first read for
// training, chunk by chunk while it loads; a shard that does not match stops training with the same message as a
// check at open would give. Shards verified before (size, times and inode unchanged, see verifiedShards.ts) are not
// hashed again, so a resume starts at once. With onBadShard 'skip' every shard not yet verified is hashed at open
// instead, so the set of shards (and with it the batches of every epoch) is fixed before the first step.
// Batches stream in a shuffled order with bounded memory: a window of a few shards is loaded at a time and its rows
// permuted, and the next window loads while this one's batches train. Batches run across windows and shards, so every
// vector is used once per epoch and batch counts are known without reading (resuming is exact).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError, isFactError, throwIfAborted } from '../errors';
import { containedFile, containedPath } from '../util/containedFile';
import { parseSafetensors, type SafeTensor } from '../util/safetensors';
import { fromHalfArray } from './float16';
import { checkManifestMatches, MANIFEST, readManifest, shardPath, type FeatureManifest, type ShardEntry } from './manifest';
import { readShardFile } from './shardFile';
import { stampOf, VerifiedShards } from './verifiedShards';
import { epochBatchStarts, permutation, type BatchOptions, type VectorBatch, type VectorSource } from './vectorSource';

export interface OpenStoreOptions {
  expect?: { modelSha256?: string; layer?: string };
  /** What to do with a shard whose checksum is wrong. */
  onBadShard?: 'stop' | 'skip';
  /** Shards loaded at once for shuffling (memory ≈ 2 × window × shard size: the window in use and the next). */
  window?: number;
  /** Called once per damaged shard that is skipped. */
  onSkip?: (shard: string, reason: string) => void;
  /** The memo of verified shards (default: this process only). */
  verified?: VerifiedShards;
}

export interface LoadedShard { features: Float32Array; image: Int32Array; position: Int32Array; vectors: number }

/** Values decoded between two yields to the event loop while a window loads (fp16 → fp32). */
const DECODE_SLICE = 1 << 20;

export class FeatureStore implements VectorSource {
  readonly dim: number;
  readonly count: number;
  /** Shard reads in this process: hashed (first read, or changed since verified) and vouched for by the memo. */
  readonly reads = { hashed: 0, remembered: 0 };

  private constructor(readonly dir: string, readonly manifest: FeatureManifest, readonly shards: ShardEntry[], private readonly window: number, readonly verified: VerifiedShards) {
    this.dim = manifest.dim;
    this.count = shards.reduce((a, s) => a + s.vectors, 0);
  }

  static async open(dir: string, opts: OpenStoreOptions = {}): Promise<FeatureStore> {
    const m = await readManifest(dir);
    checkManifestMatches(m, opts.expect ?? {}, dir);
    const verified = opts.verified ?? await VerifiedShards.open(undefined, dir);
    const skip = (opts.onBadShard ?? 'stop') === 'skip';
    const good: ShardEntry[] = [];
    for (const [i, s] of m.shards.entries()) {
      const problem = skip ? await checkShard(dir, m, s, i, verified) : await locateShard(dir, m, s, i);
      if (!problem) { good.push(s); continue; }
      if (!skip) throw damagedShard(problem, dir, s);
      opts.onSkip?.(s.file, problem);
    }
    if (good.length === 0) throw new FactError('bad-store', `The feature store '${dir}' has no usable shards.`, { file: dir });
    return new FeatureStore(dir, m, good, Math.max(1, opts.window ?? 4), verified);
  }

  /** A shard's vectors and their image and position indices, its checksum verified unless the memo vouches for it. */
  async loadShard(s: ShardEntry): Promise<LoadedShard> {
    const f = await this.readVerified(s);
    const features = f.tensors.features!;
    const out = new Float32Array(s.vectors * this.dim);
    await decodeInto(features, out, 0);
    return { features: out, image: f.tensors.image!.data as Int32Array, position: f.tensors.position!.data as Int32Array, vectors: s.vectors };
  }

  private async readVerified(s: ShardEntry): Promise<{ tensors: Record<string, SafeTensor> }> {
    const file = shardPath(this.dir, s);
    const key = shardKey(s);
    const index = this.manifest.shards.indexOf(s);
    const read = await readShardFile(path.dirname(file), s.file, { ...namedBy(this.dir, index), maxBytes: maxShardBytes(this.manifest, s) }, { keep: true, hash: (stamp) => !this.verified.has(key, s.sha256, stamp) });
    if (read.sha256 === undefined) this.reads.remembered++;
    else {
      this.reads.hashed++;
      if (read.sha256 !== s.sha256) {
        await this.verified.forget(key);
        throw damagedShard(wrongChecksum(file, read.sha256, s.sha256), this.dir, s);
      }
      await this.verified.record(key, s.sha256, read.stamp);
    }
    const f = parseSafetensors(read.bytes!, file);
    const features = f.tensors.features;
    if (!features || features.shape[0] !== s.vectors || features.shape[1] !== this.dim || !f.tensors.image || !f.tensors.position) {
      throw new FactError('bad-store', `Shard '${file}' does not hold ${s.vectors}×${this.dim} features with their image and position indices.`, { file });
    }
    return f;
  }

  /** The shards of a window, decoded to float32 one after another into one array (one shard's bytes in memory at a
   *  time), with their rows' image indices when asked for. */
  private async loadWindow(group: ShardEntry[], rows: number, withImages: boolean, stopped: () => boolean): Promise<{ all: Float32Array; images?: Int32Array }> {
    const all = new Float32Array(rows * this.dim);
    const images = withImages ? new Int32Array(rows) : undefined;
    let row = 0;
    for (const s of group) {
      if (stopped()) break;
      const f = await this.readVerified(s);
      await decodeInto(f.tensors.features!, all, row * this.dim);
      images?.set(f.tensors.image!.data as Int32Array, row);
      row += s.vectors;
    }
    return { all, ...(images ? { images } : {}) };
  }

  /** Batches of one epoch; the order depends only on (seed, epoch). The epoch's order is the shards' order, a window
   *  of them shuffled at a time; batches are consecutive runs of that order (crossing window and shard boundaries),
   *  so every vector is used once per epoch and a batch's place is known from the manifest alone (exact resume).
   *  The next window is read, verified and decoded while this one's batches are used. */
  async *batches(opts: BatchOptions): AsyncIterable<VectorBatch> {
    const epochSeed = opts.seed * 1000 + opts.epoch;
    const order = permutation(this.shards.length, epochSeed);
    const starts = epochBatchStarts(this.count, opts.batchSize);
    const windows: { w: number; group: ShardEntry[]; first: number; end: number }[] = [];
    for (let w = 0, first = 0; w < order.length; w += this.window) {
      const group = Array.from(order.subarray(w, w + this.window), (i) => this.shards[i]!);
      const end = first + group.reduce((a, s) => a + s.vectors, 0);
      windows.push({ w, group, first, end });
      first = end;
    }
    let b = opts.startBatch ?? 0;
    if (b >= starts.length - 1) return;
    let stop = false;
    const load = (k: number) => {
      const win = windows[k];
      if (!win) return undefined;
      const p = this.loadWindow(win.group, win.end - win.first, opts.withImages === true, () => stop);
      p.catch(() => undefined); // awaited below when used; a window never used must not be an unhandled rejection
      return p;
    };
    let k = windows.findIndex((win) => win.end > starts[b]!);
    let next = load(k);
    let out: Float32Array | undefined;
    let outImages: Int32Array | undefined;
    let filled = 0;
    try {
      for (; k < windows.length && b < starts.length - 1; k++) {
        throwIfAborted(opts.signal);
        const { w, first: windowFirst, end: windowEnd } = windows[k]!;
        const { all, images } = await next!;
        next = b < starts.length - 1 ? load(k + 1) : undefined;
        const perm = permutation(windowEnd - windowFirst, epochSeed * 7919 + w);
        let pos = Math.max(windowFirst, starts[b]! + filled);
        while (pos < windowEnd && b < starts.length - 1) {
          const size = starts[b + 1]! - starts[b]!;
          out ??= new Float32Array(size * this.dim);
          if (images) outImages ??= new Int32Array(size);
          const take = Math.min(size - filled, windowEnd - pos);
          for (let r = 0; r < take; r++) {
            const src = perm[pos - windowFirst + r]!;
            out.set(all.subarray(src * this.dim, (src + 1) * this.dim), (filled + r) * this.dim);
            if (outImages) outImages[filled + r] = images![src]!;
          }
          filled += take;
          pos += take;
          if (filled === size) {
            throwIfAborted(opts.signal);
            yield { data: out, rows: size, ...(outImages ? { images: outImages } : {}) };
            out = undefined;
            outImages = undefined;
            filled = 0;
            b++;
          }
        }
      }
    } finally {
      stop = true;
    }
  }

  /** How many batches `batches` yields per epoch (the same every epoch; computed from the manifest, without reading). */
  batchCount(batchSize: number): number {
    return epochBatchStarts(this.count, batchSize).length - 1;
  }
}

/** fp16 or fp32 features into `out` at `offset`, yielding to the event loop between slices (a training step's
 *  completion is never held up by a whole shard's decoding). */
async function decodeInto(t: SafeTensor, out: Float32Array<ArrayBuffer>, offset: number): Promise<void> {
  const n = t.data.length;
  for (let i = 0; i < n; i += DECODE_SLICE) {
    const end = Math.min(n, i + DECODE_SLICE);
    if (t.dtype === 'F16') fromHalfArray((t.data as Uint16Array).subarray(i, end), out.subarray(offset + i, offset + end));
    else if (t.data instanceof Float32Array) out.set(t.data.subarray(i, end), offset + i);
    else throw new FactError('bad-store', `A shard's features are ${t.dtype}, not F32 or F16.`);
    if (end < n) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The memo's name for a shard: its part (in a merged store) and file. */
export function shardKey(s: ShardEntry): string {
  return `${s.part ?? '.'}/${s.file}`;
}

function namedBy(dir: string, index: number) {
  return { file: path.join(dir, MANIFEST), field: `shards[${index}].file`, code: 'bad-store' as const };
}

/** A shard holds its vectors, their image and position indices, and a header. */
function maxShardBytes(m: FeatureManifest, s: ShardEntry): number {
  return s.vectors * (m.dim * (m.dtype === 'float16' ? 2 : 4) + 8) + 65536;
}

function wrongChecksum(file: string, sum: string, expected: string): string {
  return `Shard '${file}' has a wrong checksum (sha256 ${sum.slice(0, 12)}…, the manifest says ${expected.slice(0, 12)}…): it was damaged or changed after collection.`;
}

function damagedShard(problem: string, dir: string, s: ShardEntry): FactError {
  return new FactError('bad-store', `${problem} Run again with the option to skip damaged shards, or collect again.`, { file: shardPath(dir, s) });
}

/** Checks a shard's entry and that its file is a contained, present, regular file, without reading it. Returns what is
 *  wrong with it, or undefined. */
export async function locateShard(dir: string, m: FeatureManifest, s: ShardEntry, index = m.shards.indexOf(s)): Promise<string | undefined> {
  const manifest = path.join(dir, MANIFEST);
  if (!Number.isSafeInteger(s.vectors) || s.vectors < 0) {
    throw new FactError('bad-store', `'${manifest}' gives shard ${index} a vector count of ${JSON.stringify(s.vectors)} in its field "shards[${index}].vectors"; it must be a whole number.`, { file: manifest, field: `shards[${index}].vectors` });
  }
  const file = shardPath(dir, s);
  containedPath(path.dirname(file), s.file, namedBy(dir, index));
  try {
    await containedFile(path.dirname(file), s.file, namedBy(dir, index));
  } catch (e) {
    if (isFactError(e) && (e.code === 'file-missing' || /does not exist/.test(e.message))) return `Shard '${file}' is missing.`;
    throw e;
  }
  return undefined;
}

/** Locates a shard and verifies its checksum (chunked, constant memory); a shard the memo vouches for is not hashed,
 *  one that matches is remembered. Returns what is wrong with it, or undefined. */
export async function checkShard(dir: string, m: FeatureManifest, s: ShardEntry, index = m.shards.indexOf(s), verified?: VerifiedShards): Promise<string | undefined> {
  const missing = await locateShard(dir, m, s, index);
  if (missing) return missing;
  const file = shardPath(dir, s);
  const key = shardKey(s);
  if (verified) {
    const st = await fs.stat(file, { bigint: true });
    if (verified.has(key, s.sha256, stampOf(st))) return undefined;
  }
  const read = await readShardFile(path.dirname(file), s.file, { ...namedBy(dir, index), maxBytes: maxShardBytes(m, s) }, { keep: false, hash: true });
  if (read.sha256 !== s.sha256) {
    await verified?.forget(key);
    return wrongChecksum(file, read.sha256!, s.sha256);
  }
  await verified?.record(key, s.sha256, read.stamp);
  return undefined;
}
