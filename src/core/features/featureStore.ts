// Reading a feature store: checksums verified when it is opened (a damaged shard is reported, then skipped or
// fatal as the user chooses, never trained on silently), and batches streamed in a shuffled order with bounded
// memory: a window of a few shards is loaded, its rows permuted, and full batches emitted (each window's remainder
// of fewer than a batch is dropped, so batch counts are known without reading and resuming is exact).
import { promises as fs } from 'node:fs';
import { FactError, throwIfAborted } from '../errors';
import { sha256Hex } from '../util/sha256';
import { asFloat32, parseSafetensors } from '../util/safetensors';
import { checkManifestMatches, readManifest, shardPath, type FeatureManifest, type ShardEntry } from './manifest';
import { permutation, type BatchOptions, type VectorBatch, type VectorSource } from './vectorSource';

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
    for (const s of m.shards) {
      const problem = await checkShard(dir, s);
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
    const f = parseSafetensors(await fs.readFile(file), file);
    const features = f.tensors.features;
    if (!features || features.shape[0] !== s.vectors || features.shape[1] !== this.dim) {
      throw new FactError('bad-store', `Shard '${file}' does not hold ${s.vectors}×${this.dim} features.`, { file });
    }
    return { features: asFloat32(features), image: f.tensors.image!.data as Int32Array, position: f.tensors.position!.data as Int32Array, vectors: s.vectors };
  }

  /** Batches of one epoch; the order depends only on (seed, epoch). */
  async *batches(opts: BatchOptions): AsyncIterable<VectorBatch> {
    const order = permutation(this.shards.length, opts.seed * 1000 + opts.epoch);
    const b = opts.batchSize;
    let batchIndex = 0;
    const start = opts.startBatch ?? 0;
    for (let w = 0; w < order.length; w += this.window) {
      const group = Array.from(order.subarray(w, w + this.window), (i) => this.shards[i]!);
      const rows = group.reduce((a, s) => a + s.vectors, 0);
      const inWindow = Math.floor(rows / b);
      if (batchIndex + inWindow <= start) { batchIndex += inWindow; continue; }
      throwIfAborted(opts.signal);
      const loaded = await Promise.all(group.map((s) => this.loadShard(s)));
      const all = new Float32Array(rows * this.dim);
      let off = 0;
      for (const l of loaded) { all.set(l.features, off); off += l.features.length; }
      const perm = permutation(rows, (opts.seed * 1000 + opts.epoch) * 7919 + w);
      for (let k = 0; k < inWindow; k++, batchIndex++) {
        if (batchIndex < start) continue;
        throwIfAborted(opts.signal);
        const out = new Float32Array(b * this.dim);
        for (let r = 0; r < b; r++) {
          const src = perm[k * b + r]!;
          out.set(all.subarray(src * this.dim, (src + 1) * this.dim), r * this.dim);
        }
        yield { data: out, rows: b };
      }
    }
  }

  /** Exactly how many batches `batches` yields for this epoch (computed from the manifest, without reading). */
  batchCount(batchSize: number, seed: number, epoch: number): number {
    const order = permutation(this.shards.length, seed * 1000 + epoch);
    let n = 0;
    for (let w = 0; w < order.length; w += this.window) {
      const rows = Array.from(order.subarray(w, w + this.window), (i) => this.shards[i]!.vectors).reduce((a, v) => a + v, 0);
      n += Math.floor(rows / batchSize);
    }
    return n;
  }
}

export async function checkShard(dir: string, s: ShardEntry): Promise<string | undefined> {
  const file = shardPath(dir, s);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch {
    return `Shard '${file}' is missing.`;
  }
  const sum = sha256Hex(bytes);
  if (sum !== s.sha256) return `Shard '${file}' has a wrong checksum (sha256 ${sum.slice(0, 12)}…, the manifest says ${s.sha256.slice(0, 12)}…): it was damaged or changed after collection.`;
  return undefined;
}
