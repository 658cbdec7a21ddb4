// Appends sampled feature vectors to a store: whole images go into the open shard; when it reaches its size it is
// written (to a temporary file, then renamed) and only then does the manifest advance. A crash, a cancel or a full
// disk therefore loses at most the open shard, whose images are collected again on resume: no duplicates, no loss.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError } from '../errors';
import { fileSystemError } from '../util/fileSystemError';
import { sha256Hex } from '../util/sha256';
import { serializeSafetensors } from '../util/safetensors';
import { toHalfArray } from './float16';
import { writeManifest, type FeatureManifest } from './manifest';

/** File operations, injectable so tests can simulate a full disk. */
export interface StoreIO {
  writeFile(file: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

export const nodeIO: StoreIO = { writeFile: (f, d) => fs.writeFile(f, d), rename: (a, b) => fs.rename(a, b) };

export class ShardWriter {
  private features: Float32Array[] = [];
  private images: number[] = [];
  private positions: number[] = [];
  private openVectors = 0;
  private firstImage: number;
  private lastImage = -1;
  private pendingSkips: { id: string; reason: string }[] = [];

  constructor(private readonly dir: string, readonly manifest: FeatureManifest, private readonly io: StoreIO = nodeIO) {
    this.firstImage = manifest.imagesDone;
  }

  /** Adds one image's samples (rows of `dim` values): the image at `position` of the collection order (the next one),
   *  whose dataset index is `imageIndex`. */
  async addImage(position: number, imageIndex: number, rows: Float32Array, positions: number[]): Promise<void> {
    // One block per image (not per row): collection adds hundreds of rows per image.
    this.features.push(rows);
    for (const p of positions) {
      this.images.push(imageIndex);
      this.positions.push(p);
    }
    this.openVectors += positions.length;
    this.lastImage = position;
    if (this.openVectors >= this.manifest.shardVectors) await this.flush();
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
      const all = new Float32Array(this.openVectors * dim);
      let at = 0;
      for (const f of this.features) { all.set(f, at); at += f.length; }
      const features = m.dtype === 'float16' ? { shape: [this.openVectors, dim], data: toHalfArray(all), dtype: 'F16' as const } : { shape: [this.openVectors, dim], data: all };
      const bytes = serializeSafetensors({ features, image: { shape: [this.openVectors], data: Int32Array.from(this.images) }, position: { shape: [this.openVectors], data: Int32Array.from(this.positions) } });
      const name = `shard-${String(m.shards.length).padStart(5, '0')}.safetensors`;
      const target = path.join(this.dir, name);
      const tmp = `${target}.tmp-${process.pid}`;
      try {
        await this.io.writeFile(tmp, bytes);
        await this.io.rename(tmp, target);
      } catch (e) {
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw ioError(e as NodeJS.ErrnoException, this.dir, m);
      }
      m.shards.push({ file: name, vectors: this.openVectors, images: [this.firstImage, end], sha256: sha256Hex(bytes) });
      m.vectors += this.openVectors;
    }
    m.imagesDone = end;
    m.skipped.push(...this.pendingSkips);
    try {
      await writeManifest(this.dir, m);
    } catch (e) {
      throw ioError(e as NodeJS.ErrnoException, this.dir, m);
    }
    this.features = [];
    this.images = [];
    this.positions = [];
    this.pendingSkips = [];
    this.openVectors = 0;
    this.firstImage = end;
  }
}

function ioError(e: NodeJS.ErrnoException, dir: string, m: FeatureManifest): Error {
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.code === 'disk-full') {
    return new FactError('disk-full', `The disk is full while writing the feature store '${dir}'. The store is intact up to shard ${m.shards.length} (${m.imagesDone} images); free some space and run the collection again to resume.`, { file: dir });
  }
  return fileSystemError(e, dir) ?? e;
}
