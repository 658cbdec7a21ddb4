// Appends sampled feature vectors to a store: whole images go into the open shard; when it reaches its size it is
// written (to a temporary file, then renamed) and only then does the manifest advance. A crash, a cancel or a full
// disk therefore loses at most the open shard, whose images are collected again on resume: no duplicates, no loss.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError } from '../errors';
import { fileSystemError } from '../util/fileSystemError';
import { safetensorsPieces } from '../util/safetensors';
import { gatherHalfInto } from './float16';
import { writeManifest, type FeatureManifest } from './manifest';

/** File operations, injectable so tests can simulate a full disk. */
export interface StoreIO {
  /** Writes the pieces one after the other as the file's bytes. */
  writeFile(file: string, pieces: readonly Uint8Array[]): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

/** Vectors to store, read from a feature map where they lie: value c of vector r is
 *  `data[offset + rows[r]·pStride + c·cStride]` (C×H×W maps have cStride H·W and pStride 1, token maps T×C the reverse). */
export interface FeatureRows {
  data: Float32Array;
  offset: number;
  cStride: number;
  pStride: number;
  rows: readonly number[];
}

export const nodeIO: StoreIO = { writeFile: (f, d) => fs.writeFile(f, d), rename: (a, b) => fs.rename(a, b) };

export class ShardWriter {
  // The open shard, stored as it will be written (float16 converted as images arrive): no copy when it is written.
  private features: Float32Array | Uint16Array = new Float32Array(0);
  private images = new Int32Array(0);
  private positions = new Int32Array(0);
  private openVectors = 0;
  private firstImage: number;
  private lastImage = -1;
  private pendingSkips: { id: string; reason: string }[] = [];

  constructor(
    private readonly dir: string,
    readonly manifest: FeatureManifest,
    private readonly io: StoreIO = nodeIO,
    /** How many vectors the caller expects to add in all, when it knows: the open shard is then sized once (fresh
     *  memory costs page faults and zeroing on every growth) rather than doubled. */
    private readonly expectedVectors = 0,
  ) {
    this.firstImage = manifest.imagesDone;
  }

  /** Adds one image's samples: the image at `position` of the collection order (the next one), whose dataset index is
   *  `imageIndex`; `vectors` are rows of `dim` values, or rows gathered from a feature map (no intermediate copy). */
  async addImage(position: number, imageIndex: number, vectors: Float32Array | FeatureRows, positions: number[]): Promise<void> {
    const dim = this.manifest.dim;
    const at = this.openVectors;
    this.reserve(at + positions.length);
    const from: FeatureRows =
      vectors instanceof Float32Array ? { data: vectors, offset: 0, cStride: 1, pStride: dim, rows: positions.map((_, r) => r) } : vectors;
    if (this.features instanceof Uint16Array)
      gatherHalfInto(from.data, from.offset, from.cStride, from.pStride, from.rows, dim, this.features, at * dim);
    else gatherInto(from, dim, this.features, at * dim);
    this.images.fill(imageIndex, at, at + positions.length);
    this.positions.set(positions, at);
    this.openVectors += positions.length;
    this.lastImage = position;
    if (this.openVectors >= this.manifest.shardVectors) await this.flush();
  }

  /** Room for `vectors` in the open shard: capacity doubles (from 4,096 vectors, or from the vectors expected in all),
   *  never beyond what a shard can need. */
  private reserve(vectors: number): void {
    if (vectors <= this.images.length) return;
    const grown = Math.max(4096, 2 * this.images.length, this.expectedVectors);
    const capacity = Math.max(vectors, Math.min(grown, this.manifest.shardVectors + vectors));
    const dim = this.manifest.dim;
    const features = this.manifest.dtype === 'float16' ? new Uint16Array(capacity * dim) : new Float32Array(capacity * dim);
    features.set(this.features.subarray(0, this.openVectors * dim) as never);
    const images = new Int32Array(capacity);
    images.set(this.images.subarray(0, this.openVectors));
    const positions = new Int32Array(capacity);
    positions.set(this.positions.subarray(0, this.openVectors));
    this.features = features;
    this.images = images;
    this.positions = positions;
  }

  /** Vectors added since the last shard was written. */
  get openVectorCount(): number {
    return this.openVectors;
  }

  /** An image that yielded no samples (it did not decode) still counts as done when the shard closes. */
  markSkipped(position: number, id: string, reason: string): void {
    this.lastImage = position;
    this.pendingSkips.push({ id, reason });
  }

  /** Writes the open shard (if it has anything) and advances the manifest past its images. */
  async flush(): Promise<void> {
    const end = this.lastImage + 1;
    if (end <= this.manifest.imagesDone) return;
    const m = this.manifest;
    if (this.openVectors > 0) {
      const dim = m.dim;
      const data = this.features.subarray(0, this.openVectors * dim);
      const features =
        data instanceof Uint16Array
          ? { shape: [this.openVectors, dim], data, dtype: 'F16' as const }
          : { shape: [this.openVectors, dim], data };
      const pieces = safetensorsPieces({
        features,
        image: { shape: [this.openVectors], data: this.images.subarray(0, this.openVectors) },
        position: { shape: [this.openVectors], data: this.positions.subarray(0, this.openVectors) },
      });
      const name = `shard-${String(m.shards.length).padStart(5, '0')}.safetensors`;
      const target = path.join(this.dir, name);
      const tmp = `${target}.tmp-${process.pid}`;
      try {
        await this.io.writeFile(tmp, pieces);
        await this.io.rename(tmp, target);
      } catch (e) {
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw ioError(e as NodeJS.ErrnoException, this.dir, m);
      }
      m.shards.push({ file: name, vectors: this.openVectors, images: [this.firstImage, end], sha256: sha256Of(pieces) });
      m.vectors += this.openVectors;
    }
    m.imagesDone = end;
    m.skipped.push(...this.pendingSkips);
    try {
      await writeManifest(this.dir, m);
    } catch (e) {
      throw ioError(e as NodeJS.ErrnoException, this.dir, m);
    }
    this.pendingSkips = [];
    this.openVectors = 0;
    this.firstImage = end;
  }
}

function sha256Of(pieces: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const p of pieces) hash.update(p);
  return hash.digest('hex');
}

function gatherInto(from: FeatureRows, dim: number, out: Float32Array, at: number): void {
  const { data, offset, cStride, pStride, rows } = from;
  for (let r = 0, o = at; r < rows.length; r++) {
    for (let c = 0, i = offset + rows[r]! * pStride; c < dim; c++, i += cStride, o++) out[o] = data[i]!;
  }
}

function ioError(e: NodeJS.ErrnoException, dir: string, m: FeatureManifest): Error {
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.code === 'disk-full') {
    return new FactError(
      'disk-full',
      `The disk is full while writing the feature store '${dir}'. The store is intact up to shard ${m.shards.length} (${m.imagesDone} images); free some space and run the collection again to resume.`,
      { file: dir },
    );
  }
  return fileSystemError(e, dir) ?? e;
}
