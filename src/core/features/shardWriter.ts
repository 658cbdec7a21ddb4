// Appends sampled feature vectors to a store: whole images go into the open shard; when it reaches its size it is
// written (to a temporary file, then renamed) and only then does the manifest advance. A crash, a cancel or a full
// disk therefore loses at most the shards not yet renamed, whose images are collected again on resume: no duplicates,
// no loss. A full shard is written in the background while the next one fills (its hash and I/O overlap the next
// batches), one write at a time and in order; the shard after it waits for it, so at most two shards are in memory.
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

/** A shard's vectors in the arrays they were gathered into. */
interface ShardBuffers {
  features: Float32Array | Uint16Array;
  images: Int32Array;
  positions: Int32Array;
}

/** A closed shard on its way to the disk. */
interface ClosedShard {
  buffers: ShardBuffers;
  vectors: number;
  images: [number, number];
  skips: { id: string; reason: string }[];
}

export class ShardWriter {
  // The open shard, stored as it will be written (float16 converted as images arrive): no copy when it is written.
  private open: ShardBuffers = { features: new Float32Array(0), images: new Int32Array(0), positions: new Int32Array(0) };
  private openVectors = 0;
  private firstImage: number;
  private lastImage = -1;
  private pendingSkips: { id: string; reason: string }[] = [];
  /** The shard being written, if any; its failure surfaces at the next close or flush. */
  private writing: Promise<void> | undefined;
  private writingVectors = 0;
  /** The arrays of the last shard written, reused for the next one (fresh memory costs page faults). */
  private spare: ShardBuffers | undefined;
  private expectedLeft: number;

  constructor(
    private readonly dir: string,
    readonly manifest: FeatureManifest,
    private readonly io: StoreIO = nodeIO,
    /** How many vectors the caller expects to add in all, when it knows: the open shard is then sized once (fresh
     *  memory costs page faults and zeroing on every growth) rather than doubled. */
    expectedVectors = 0,
  ) {
    this.firstImage = manifest.imagesDone;
    this.expectedLeft = expectedVectors;
  }

  /** Adds one image's samples: the image at `position` of the collection order (the next one), whose dataset index is
   *  `imageIndex`; `vectors` are rows of `dim` values, or rows gathered from a feature map (no intermediate copy). */
  async addImage(position: number, imageIndex: number, vectors: Float32Array | FeatureRows, positions: number[]): Promise<void> {
    const dim = this.manifest.dim;
    const at = this.openVectors;
    this.reserve(at + positions.length);
    const from: FeatureRows =
      vectors instanceof Float32Array ? { data: vectors, offset: 0, cStride: 1, pStride: dim, rows: positions.map((_, r) => r) } : vectors;
    const { features, images, positions: stored } = this.open;
    if (features instanceof Uint16Array)
      gatherHalfInto(from.data, from.offset, from.cStride, from.pStride, from.rows, dim, features, at * dim);
    else gatherInto(from, dim, features, at * dim);
    images.fill(imageIndex, at, at + positions.length);
    stored.set(positions, at);
    this.openVectors += positions.length;
    this.expectedLeft = Math.max(0, this.expectedLeft - positions.length);
    this.lastImage = position;
    if (this.openVectors >= this.manifest.shardVectors) await this.close();
  }

  /** Room for `vectors` in the open shard: capacity doubles (from 4,096 vectors, or from the vectors still expected),
   *  never beyond what a shard can need. */
  private reserve(vectors: number): void {
    if (vectors <= this.open.images.length) return;
    const grown = Math.max(4096, 2 * this.open.images.length, this.openVectors + this.expectedLeft);
    const capacity = Math.max(vectors, Math.min(grown, this.manifest.shardVectors + vectors));
    const dim = this.manifest.dim;
    const n = this.openVectors;
    const features = this.manifest.dtype === 'float16' ? new Uint16Array(capacity * dim) : new Float32Array(capacity * dim);
    features.set(this.open.features.subarray(0, n * dim) as never);
    const images = new Int32Array(capacity);
    images.set(this.open.images.subarray(0, n));
    const positions = new Int32Array(capacity);
    positions.set(this.open.positions.subarray(0, n));
    this.open = { features, images, positions };
  }

  /** Vectors added that are not yet in a written shard. */
  get openVectorCount(): number {
    return this.openVectors + this.writingVectors;
  }

  /** An image that yielded no samples (it did not decode) still counts as done when the shard closes. */
  markSkipped(position: number, id: string, reason: string): void {
    this.lastImage = position;
    this.pendingSkips.push({ id, reason });
  }

  /** Writes the open shard (if it has anything) and advances the manifest past its images; returns once every shard
   *  is written. */
  async flush(): Promise<void> {
    await this.close();
    await this.writing;
  }

  /** Waits for a shard being written, whatever its outcome: for a caller stopping on an error of its own, so that
   *  nothing is still writing into the store once it has stopped. */
  async settle(): Promise<void> {
    await this.writing?.catch(() => undefined);
  }

  /** Closes the open shard and starts writing it in the background, once the shard before it is written (whose failure
   *  is thrown here); the next shard fills the arrays of the last one written. */
  private async close(): Promise<void> {
    await this.writing;
    const end = this.lastImage + 1;
    if (end <= this.manifest.imagesDone) return;
    const shard: ClosedShard = { buffers: this.open, vectors: this.openVectors, images: [this.firstImage, end], skips: this.pendingSkips };
    this.open = this.spare ?? { features: new Float32Array(0), images: new Int32Array(0), positions: new Int32Array(0) };
    this.spare = undefined;
    this.openVectors = 0;
    this.firstImage = end;
    this.pendingSkips = [];
    this.writingVectors = shard.vectors;
    const writing = this.write(shard).then(() => {
      this.spare = shard.buffers;
    });
    writing.catch(() => undefined); // not unhandled meanwhile: the next close or flush awaits it
    this.writing = writing;
  }

  /** Writes a closed shard's file (if it has vectors), then the manifest that lists it. */
  private async write(shard: ClosedShard): Promise<void> {
    const m = this.manifest;
    const n = shard.vectors;
    if (n > 0) {
      const dim = m.dim;
      const data = shard.buffers.features.subarray(0, n * dim);
      const features = data instanceof Uint16Array ? { shape: [n, dim], data, dtype: 'F16' as const } : { shape: [n, dim], data };
      const pieces = safetensorsPieces({
        features,
        image: { shape: [n], data: shard.buffers.images.subarray(0, n) },
        position: { shape: [n], data: shard.buffers.positions.subarray(0, n) },
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
      m.shards.push({ file: name, vectors: n, images: shard.images, sha256: sha256Of(pieces) });
      m.vectors += n;
      this.writingVectors = 0; // counted in the manifest now
    }
    m.imagesDone = shard.images[1];
    m.skipped.push(...shard.skips);
    try {
      await writeManifest(this.dir, m);
    } catch (e) {
      throw ioError(e as NodeJS.ErrnoException, this.dir, m);
    }
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
