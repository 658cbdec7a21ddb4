// Reading a feature store: checksums verified when it is opened (a damaged shard is reported, then skipped or
// fatal as the user chooses, never trained on silently), and batches streamed in a shuffled order with bounded
// memory: a window of a few shards is loaded at a time and its rows permuted; batches run across windows and shards,
// so every vector is used once per epoch and batch counts are known without reading (resuming is exact).
import * as path from 'node:path';
import { FactError, isFactError, throwIfAborted } from '../errors';
import { containedPath, readContainedFile } from '../util/containedFile';
import { sha256Hex } from '../util/sha256';
import { asFloat32, parseSafetensors } from '../util/safetensors';
import { checkManifestMatches, MANIFEST, PARTS_DIR, readManifest, shardPath, type FeatureManifest, type ShardEntry } from './manifest';
import { epochBatchStarts, permutation, type BatchOptions, type VectorBatch, type VectorSource } from './vectorSource';

export interface OpenStoreOptions {
  expect?: { modelSha256?: string; layer?: string };
  /** What to do with a shard whose checksum is wrong. */
  onBadShard?: 'stop' | 'skip';
  /** Shards loaded at once for shuffling (memory ≈ window × shard size). */
  window?: number;
  /** Called once per damaged shard that is skipped. */
  onSkip?: (shard: string, reason: string) => void;
}

export interface LoadedShard { features: Float32Array; image: Int32Array; position: Int32Array; vectors: number }

export class FeatureStore implements VectorSource {
  readonly dim: number;
  readonly count: number;

  private constructor(readonly dir: string, readonly manifest: FeatureManifest, readonly shards: ShardEntry[], private readonly window: number) {
    this.dim = manifest.dim;
    this.count = shards.reduce((a, s) => a + s.vectors, 0);
  }

  static async open(dir: string, opts: OpenStoreOptions = {}): Promise<FeatureStore> {
    const m = await readManifest(dir);
    checkManifestMatches(m, opts.expect ?? {}, dir);
    const good: ShardEntry[] = [];
    for (const [i, s] of m.shards.entries()) {
      const problem = await checkShard(dir, m, s, i);
      if (!problem) { good.push(s); continue; }
      if ((opts.onBadShard ?? 'stop') === 'stop') {
        throw new FactError('bad-store', `${problem} Run again with the option to skip damaged shards, or collect again.`, { file: shardPath(dir, s) });
      }
      opts.onSkip?.(s.file, problem);
    }
    if (good.length === 0) throw new FactError('bad-store', `The feature store '${dir}' has no usable shards.`, { file: dir });
    return new FeatureStore(dir, m, good, Math.max(1, opts.window ?? 4));
  }

  async loadShard(s: ShardEntry): Promise<LoadedShard> {
    const file = shardPath(this.dir, s);
    const f = parseSafetensors(await readShard(this.dir, this.manifest, s), file);
    const features = f.tensors.features;
    if (!features || features.shape[0] !== s.vectors || features.shape[1] !== this.dim) {
      throw new FactError('bad-store', `Shard '${file}' does not hold ${s.vectors}×${this.dim} features.`, { file });
    }
    return { features: asFloat32(features), image: f.tensors.image!.data as Int32Array, position: f.tensors.position!.data as Int32Array, vectors: s.vectors };
  }

  /** Batches of one epoch; the order depends only on (seed, epoch). The epoch's order is the shards' order, a window
   *  of them shuffled at a time; batches are consecutive runs of that order (crossing window and shard boundaries),
   *  so every vector is used once per epoch and a batch's place is known from the manifest alone (exact resume). */
  async *batches(opts: BatchOptions): AsyncIterable<VectorBatch> {
    const epochSeed = opts.seed * 1000 + opts.epoch;
    const order = permutation(this.shards.length, epochSeed);
    const starts = epochBatchStarts(this.count, opts.batchSize);
    let b = opts.startBatch ?? 0;
    let out: Float32Array | undefined;
    let filled = 0;
    let windowFirst = 0;
    for (let w = 0; w < order.length && b < starts.length - 1; w += this.window) {
      const group = Array.from(order.subarray(w, w + this.window), (i) => this.shards[i]!);
      const rows = group.reduce((a, s) => a + s.vectors, 0);
      const windowEnd = windowFirst + rows;
      if (windowEnd <= starts[b]! + filled) { windowFirst = windowEnd; continue; }
      throwIfAborted(opts.signal);
      const loaded = await Promise.all(group.map((s) => this.loadShard(s)));
      const all = new Float32Array(rows * this.dim);
      let off = 0;
      for (const l of loaded) { all.set(l.features, off); off += l.features.length; }
      const perm = permutation(rows, epochSeed * 7919 + w);
      let pos = Math.max(windowFirst, starts[b]! + filled);
      while (pos < windowEnd && b < starts.length - 1) {
        const size = starts[b + 1]! - starts[b]!;
        out ??= new Float32Array(size * this.dim);
        const take = Math.min(size - filled, windowEnd - pos);
        for (let r = 0; r < take; r++) {
          const src = perm[pos - windowFirst + r]!;
          out.set(all.subarray(src * this.dim, (src + 1) * this.dim), (filled + r) * this.dim);
        }
        filled += take;
        pos += take;
        if (filled === size) {
          throwIfAborted(opts.signal);
          yield { data: out, rows: size };
          out = undefined;
          filled = 0;
          b++;
        }
      }
      windowFirst = windowEnd;
    }
  }

  /** How many batches `batches` yields per epoch (the same every epoch; computed from the manifest, without reading). */
  batchCount(batchSize: number): number {
    return epochBatchStarts(this.count, batchSize).length - 1;
  }
}

export async function checkShard(dir: string, m: FeatureManifest, s: ShardEntry, index = m.shards.indexOf(s)): Promise<string | undefined> {
  const manifest = path.join(dir, MANIFEST);
  if (!Number.isSafeInteger(s.vectors) || s.vectors < 0) {
    throw new FactError('bad-store', `'${manifest}' gives shard ${index} a vector count of ${JSON.stringify(s.vectors)} in its field "shards[${index}].vectors"; it must be a whole number.`, { file: manifest, field: `shards[${index}].vectors` });
  }
  const file = shardPath(dir, s);
  containedPath(path.dirname(file), s.file, { file: manifest, field: `shards[${index}].file`, code: 'bad-store' });
  let bytes: Buffer;
  try {
    bytes = await readShard(dir, m, s, index);
  } catch (e) {
    if (isFactError(e) && e.code === 'file-missing') return `Shard '${file}' is missing.`;
    throw e;
  }
  const sum = sha256Hex(bytes);
  if (sum !== s.sha256) return `Shard '${file}' has a wrong checksum (sha256 ${sum.slice(0, 12)}…, the manifest says ${s.sha256.slice(0, 12)}…): it was damaged or changed after collection.`;
  return undefined;
}

/** A shard's bytes: a plain file in the store (or its part), no larger than its manifest entry allows (its vectors, their image and
 *  position indices, and a header). */
function readShard(dir: string, m: FeatureManifest, s: ShardEntry, index = m.shards.indexOf(s)): Promise<Buffer> {
  const perVector = m.dim * (m.dtype === 'float16' ? 2 : 4) + 8;
  const by = { file: path.join(dir, MANIFEST), field: `shards[${index}].file`, code: 'bad-store' as const, maxBytes: s.vectors * perVector + 65536 };
  // The name is a plain file name; a merged store's shard lives in its part's folder (shardPath checks the part's
  // name), and is contained in the store itself, so a part folder that is a link leading out is refused too.
  containedPath(dir, s.file, by);
  shardPath(dir, s);
  return s.part === undefined ? readContainedFile(dir, s.file, by) : readContainedFile(dir, path.join(PARTS_DIR, s.part, s.file), by, true);
}
