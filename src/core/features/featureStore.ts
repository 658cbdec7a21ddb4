// Reading a feature store. Opening costs no pass over the data: it reads the manifest and checks that every shard
// file is where it says (contained in the store, present). Each shard's checksum is verified as it is first read for
// training, chunk by chunk while it loads; a shard that does not match stops training with the same message as a
// check at open would give. Shards verified before (size, times and inode unchanged, see verifiedShards.ts) are not
// hashed again, so a resume starts at once. With onBadShard 'skip' a damaged shard (missing at open, or found wrong
// when its window loads) is reported once and its rows are left out of the batches they fall in; the epoch's layout
// (every shard's place, every batch's span) stays the manifest's, so batch counts never change and a resumed run,
// which finds the same shard damaged when it loads the same window, yields the same batches.
// Batches stream in a shuffled order with bounded memory: a window of a few shards is loaded at a time and its rows
// permuted, and the next window loads while this one's batches train. Batches run across windows and shards, so every
// vector is used once per epoch and batch counts are known without reading (resuming is exact).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError, isFactError, throwIfAborted } from '../errors';
import { containedFile, containedPath, type NamedBy } from '../util/containedFile';
import { parseSafetensorsHeader, type SafeTensorPlace } from '../util/safetensors';
import { fromHalfArray } from './float16';
import { checkManifestMatches, MANIFEST, PARTS_DIR, readManifest, shardPath, type FeatureManifest, type ShardEntry } from './manifest';
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

interface LoadedWindow {
  all: Float32Array<ArrayBuffer>;
  images?: Int32Array;
  /** 1 for each row of a damaged shard that was skipped (absent when none was). */
  dropped?: Uint8Array;
}

export interface LoadedShard {
  features: Float32Array;
  image: Int32Array;
  position: Int32Array;
  vectors: number;
}

/** Values decoded between two yields to the event loop while a window loads (fp16 → fp32). */
const DECODE_SLICE = 1 << 20;

export class FeatureStore implements VectorSource {
  readonly dim: number;
  /** The manifest's vectors: the epoch's layout, which a damaged shard skipped mid-run does not change (its rows are
   *  left out of their batches, which keep their spans). */
  readonly count: number;
  /** Shard reads in this process: hashed (first read, or changed since verified) and vouched for by the memo. */
  readonly reads = { hashed: 0, remembered: 0 };
  /** With onBadShard 'skip': the damaged shards found so far (by shardKey) and what is wrong with each. */
  readonly damaged = new Map<string, string>();

  private constructor(
    readonly dir: string,
    readonly manifest: FeatureManifest,
    readonly shards: ShardEntry[],
    private readonly window: number,
    readonly verified: VerifiedShards,
    private readonly skip: ((shard: string, reason: string) => void) | undefined,
  ) {
    this.dim = manifest.dim;
    this.count = shards.reduce((a, s) => a + s.vectors, 0);
  }

  static async open(dir: string, opts: OpenStoreOptions = {}): Promise<FeatureStore> {
    const m = await readManifest(dir);
    checkManifestMatches(m, opts.expect ?? {}, dir);
    const verified = opts.verified ?? (await VerifiedShards.open(undefined, dir));
    const skip = (opts.onBadShard ?? 'stop') === 'skip' ? (opts.onSkip ?? (() => undefined)) : undefined;
    const store = new FeatureStore(dir, m, m.shards, Math.max(1, opts.window ?? 4), verified, skip);
    for (const [i, s] of m.shards.entries()) {
      const problem = await locateShard(dir, m, s, i);
      if (!problem) continue;
      if (!skip) throw damagedShard(problem, dir, s);
      store.markDamaged(s, problem);
    }
    store.checkUsable();
    return store;
  }

  /** Skipping damaged shards ends where none is left: training would go on with empty batches. */
  private checkUsable(): void {
    if (this.damaged.size === this.shards.length)
      throw new FactError('bad-store', `The feature store '${this.dir}' has no usable shards.`, { file: this.dir });
  }

  /** Remembers a damaged shard for this run (its rows are left out of every batch from now on) and reports it once. */
  private markDamaged(s: ShardEntry, problem: string): void {
    if (this.damaged.has(shardKey(s))) return;
    this.damaged.set(shardKey(s), problem);
    this.skip?.(s.file, problem);
  }

  /** A shard's vectors and their image and position indices, its checksum verified unless the memo vouches for it. */
  async loadShard(s: ShardEntry): Promise<LoadedShard> {
    const { bytes, places } = await this.readVerified(s);
    const features = new Float32Array(s.vectors * this.dim);
    await decodeInto(bytes, places.features!, features, 0);
    const image = new Int32Array(s.vectors);
    const position = new Int32Array(s.vectors);
    copyBytes(bytes, places.image!, image, 0);
    copyBytes(bytes, places.position!, position, 0);
    return { features, image, position, vectors: s.vectors };
  }

  /** A shard's bytes (in `into` when it fits) and where its tensors lie in them, its checksum verified unless the
   *  memo vouches for it. */
  private async readVerified(s: ShardEntry, into?: Buffer): Promise<{ bytes: Buffer; places: Record<string, SafeTensorPlace> }> {
    const file = shardPath(this.dir, s);
    const key = shardKey(s);
    const index = this.manifest.shards.indexOf(s);
    const read = await readShardFile(
      this.dir,
      shardInStore(this.dir, s, namedBy(this.dir, index)),
      { ...namedBy(this.dir, index), maxBytes: maxShardBytes(this.manifest, s) },
      { keep: true, hash: (stamp) => !this.verified.has(key, s.sha256, stamp), ...(into ? { into } : {}) },
    );
    if (read.sha256 === undefined) this.reads.remembered++;
    else {
      this.reads.hashed++;
      if (read.sha256 !== s.sha256) {
        await this.verified.forget(key);
        throw damagedShard(wrongChecksum(file, read.sha256, s.sha256), this.dir, s);
      }
      await this.verified.record(key, s.sha256, read.stamp);
    }
    const { places } = parseSafetensorsHeader(read.bytes!, file);
    const f = places.features,
      image = places.image,
      position = places.position;
    if (
      !f ||
      f.shape[0] !== s.vectors ||
      f.shape[1] !== this.dim ||
      (f.dtype !== 'F32' && f.dtype !== 'F16') ||
      image?.dtype !== 'I32' ||
      image.count !== s.vectors ||
      position?.dtype !== 'I32' ||
      position.count !== s.vectors
    ) {
      throw new FactError(
        'bad-store',
        `Shard '${file}' does not hold ${s.vectors}×${this.dim} float features with their int32 image and position indices.`,
        { file },
      );
    }
    return { bytes: read.bytes!, places };
  }

  /** The shards of a window, decoded to float32 one after another into one array (one shard's bytes in memory at a
   *  time, in a buffer reused from shard to shard), with their rows' image indices when asked for. `all` is reused
   *  from a window already used up, so steady reading allocates nothing. */
  private async loadWindow(
    group: ShardEntry[],
    all: Float32Array<ArrayBuffer>,
    reading: { buffer?: Buffer },
    withImages: boolean,
    stopped: () => boolean,
  ): Promise<LoadedWindow> {
    const rows = group.reduce((a, s) => a + s.vectors, 0);
    const images = withImages ? new Int32Array(rows) : undefined;
    let dropped: Uint8Array | undefined;
    let row = 0;
    for (const s of group) {
      if (stopped()) break;
      const loaded = this.damaged.has(shardKey(s)) ? false : await this.loadInto(s, all, images, row, reading);
      if (!loaded) (dropped ??= new Uint8Array(rows)).fill(1, row, row + s.vectors);
      row += s.vectors;
    }
    return { all, ...(images ? { images } : {}), ...(dropped ? { dropped } : {}) };
  }

  /** One shard's rows into a window at `row`; false when it is damaged and damaged shards are skipped. */
  private async loadInto(
    s: ShardEntry,
    all: Float32Array<ArrayBuffer>,
    images: Int32Array | undefined,
    row: number,
    reading: { buffer?: Buffer },
  ): Promise<boolean> {
    // Never from Buffer's shared pool (allocUnsafeSlow): this buffer is written again for the next shard.
    const most = maxShardBytes(this.manifest, s);
    if (!reading.buffer || reading.buffer.length < most) reading.buffer = Buffer.allocUnsafeSlow(most);
    let read: { bytes: Buffer; places: Record<string, SafeTensorPlace> };
    try {
      read = await this.readVerified(s, reading.buffer);
    } catch (e) {
      if (!this.skip || !isFactError(e) || e.code === 'cancelled') throw e;
      const problem = (e.details as { problem?: unknown } | undefined)?.problem;
      this.markDamaged(s, typeof problem === 'string' ? problem : e.message);
      return false;
    }
    await decodeInto(read.bytes, read.places.features!, all, row * this.dim);
    if (images) copyBytes(read.bytes, read.places.image!, images, row);
    return true;
  }

  /** Batches of one epoch; the order depends only on (seed, epoch). The epoch's order is the shards' order, a window
   *  of them shuffled at a time; batches are consecutive runs of that order (crossing window and shard boundaries),
   *  so every vector is used once per epoch and a batch's place is known from the manifest alone (exact resume).
   *  The next window is read, verified and decoded while this one's batches are used. */
  async *batches(opts: BatchOptions): AsyncIterable<VectorBatch> {
    // A batch spans the positions [starts[b], starts[b + 1]) of the epoch's order; rows of a damaged shard (skipped)
    // are left out of it, so it may hold fewer rows, but never other ones.
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
    // Two window arrays, each as large as the largest window: one in use, one loading; they take turns.
    const largest = Math.max(...windows.map((win) => win.end - win.first)) * this.dim;
    const spare: Float32Array<ArrayBuffer>[] = [];
    // One shard's bytes at a time, in one buffer per epoch's reading (a reading left behind by an earlier loop that
    // stopped early may still be finishing its shard: it has its own).
    const reading: { buffer?: Buffer } = {};
    const load = (k: number) => {
      const win = windows[k];
      if (!win) return undefined;
      const p = this.loadWindow(win.group, spare.pop() ?? new Float32Array(largest), reading, opts.withImages === true, () => stop);
      p.catch(() => undefined); // awaited below when used; a window never used must not be an unhandled rejection
      return p;
    };
    let k = windows.findIndex((win) => win.end > starts[b]!);
    let next = load(k);
    let out: Float32Array | undefined;
    let outImages: Int32Array | undefined;
    let current: Float32Array<ArrayBuffer> | undefined;
    // Positions of batch b consumed so far, and rows kept (fewer when a skipped shard's rows were among them).
    let filled = 0,
      kept = 0;
    try {
      for (; k < windows.length && b < starts.length - 1; k++) {
        throwIfAborted(opts.signal);
        const { w, first: windowFirst, end: windowEnd } = windows[k]!;
        if (current) spare.push(current); // the previous window is used up: the one after this loads into it
        const { all, images, dropped } = await next!;
        if (dropped) this.checkUsable();
        next = b < starts.length - 1 ? load(k + 1) : undefined;
        current = all;
        const perm = permutation(windowEnd - windowFirst, epochSeed * 7919 + w);
        let pos = Math.max(windowFirst, starts[b]! + filled);
        while (pos < windowEnd && b < starts.length - 1) {
          const size = starts[b + 1]! - starts[b]!;
          out ??= new Float32Array(size * this.dim);
          if (images) outImages ??= new Int32Array(size);
          const take = Math.min(size - filled, windowEnd - pos);
          for (let r = 0; r < take; r++) {
            const src = perm[pos - windowFirst + r]!;
            if (dropped?.[src]) continue;
            out.set(all.subarray(src * this.dim, (src + 1) * this.dim), kept * this.dim);
            if (outImages) outImages[kept] = images![src]!;
            kept++;
          }
          filled += take;
          pos += take;
          if (filled === size) {
            throwIfAborted(opts.signal);
            yield {
              data: kept === size ? out : out.subarray(0, kept * this.dim),
              rows: kept,
              ...(outImages ? { images: kept === size ? outImages : outImages.subarray(0, kept) } : {}),
            };
            out = undefined;
            outImages = undefined;
            filled = 0;
            kept = 0;
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

/** fp16 or fp32 features into `out` at `offset`, straight from the file's bytes (no intermediate copy), yielding to
 *  the event loop between slices (a training step's completion is never held up by a whole shard's decoding). */
async function decodeInto(bytes: Buffer, t: SafeTensorPlace, out: Float32Array<ArrayBuffer>, offset: number): Promise<void> {
  if (t.dtype === 'F32') {
    const dst = new Uint8Array(out.buffer, out.byteOffset + offset * 4, t.count * 4);
    for (let i = 0; i < dst.length; i += DECODE_SLICE * 4) {
      dst.set(bytes.subarray(t.begin + i, Math.min(t.end, t.begin + i + DECODE_SLICE * 4)), i);
      if (i + DECODE_SLICE * 4 < dst.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return;
  }
  // fp16: a Uint16 view needs an even address; the data of our shards starts 8-byte aligned, anything else is copied.
  const at = bytes.byteOffset + t.begin;
  const half =
    at % 2 === 0 ? new Uint16Array(bytes.buffer, at, t.count) : new Uint16Array(new Uint8Array(bytes.subarray(t.begin, t.end)).buffer);
  for (let i = 0; i < t.count; i += DECODE_SLICE) {
    const end = Math.min(t.count, i + DECODE_SLICE);
    fromHalfArray(half.subarray(i, end), out.subarray(offset + i, offset + end));
    if (end < t.count) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** An int32 tensor's bytes into `out` at element `offset`. */
function copyBytes(bytes: Buffer, t: SafeTensorPlace, out: Int32Array, offset: number): void {
  new Uint8Array(out.buffer, out.byteOffset + offset * 4, t.count * 4).set(bytes.subarray(t.begin, t.end));
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
  return new FactError('bad-store', `${problem} Run again with the option to skip damaged shards, or collect again.`, {
    file: shardPath(dir, s),
    problem,
  });
}

/** Checks a shard's entry and that its file is a contained, present, regular file, without reading it. Returns what is
 *  wrong with it, or undefined. */
export async function locateShard(
  dir: string,
  m: FeatureManifest,
  s: ShardEntry,
  index = m.shards.indexOf(s),
): Promise<string | undefined> {
  const manifest = path.join(dir, MANIFEST);
  if (!Number.isSafeInteger(s.vectors) || s.vectors < 0) {
    throw new FactError(
      'bad-store',
      `'${manifest}' gives shard ${index} a vector count of ${JSON.stringify(s.vectors)} in its field "shards[${index}].vectors"; it must be a whole number.`,
      { file: manifest, field: `shards[${index}].vectors` },
    );
  }
  const file = shardPath(dir, s);
  try {
    await containedFile(dir, shardInStore(dir, s, namedBy(dir, index)), namedBy(dir, index), true);
  } catch (e) {
    if (isFactError(e) && (e.code === 'file-missing' || /does not exist/.test(e.message))) return `Shard '${file}' is missing.`;
    throw e;
  }
  return undefined;
}

/** A shard's path relative to the store: its plain file name, or a merged store's `parts/<part>/<name>` (both names
 *  checked plain); reading it as contained in the store itself refuses a part folder that is a link leading out. */
function shardInStore(dir: string, s: ShardEntry, by: NamedBy): string {
  containedPath(path.dirname(shardPath(dir, s)), s.file, by);
  return s.part === undefined ? s.file : path.join(PARTS_DIR, s.part, s.file);
}

/** Locates a shard and verifies its checksum (chunked, constant memory); a shard the memo vouches for is not hashed,
 *  one that matches is remembered. Returns what is wrong with it, or undefined. */
export async function checkShard(
  dir: string,
  m: FeatureManifest,
  s: ShardEntry,
  index = m.shards.indexOf(s),
  verified?: VerifiedShards,
): Promise<string | undefined> {
  const missing = await locateShard(dir, m, s, index);
  if (missing) return missing;
  const file = shardPath(dir, s);
  const key = shardKey(s);
  if (verified) {
    const st = await fs.stat(file, { bigint: true });
    if (verified.has(key, s.sha256, stampOf(st))) return undefined;
  }
  const read = await readShardFile(
    dir,
    shardInStore(dir, s, namedBy(dir, index)),
    { ...namedBy(dir, index), maxBytes: maxShardBytes(m, s) },
    { keep: false, hash: true },
  );
  if (read.sha256 !== s.sha256) {
    await verified?.forget(key);
    return wrongChecksum(file, read.sha256!, s.sha256);
  }
  await verified?.record(key, s.sha256, read.stamp);
  return undefined;
}
