// The feature store's manifest: what was collected, from which model and layer, and which shards are complete.
// It is rewritten atomically after each shard, so it never lists a shard that is not fully on disk.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { FactError, isFactError } from '../errors';
import { readFileOrThrow, writeFileAtomic } from '../util/files';
import type { CollectionOrder } from './collectionOrder';

export type FeatureDtype = 'float32' | 'float16';

export interface ShardEntry {
  file: string;
  vectors: number;
  /** Positions [first, end) in the collection order (see `order`) whose images' samples this shard holds; shards hold
   *  whole images. In dataset order a position is the image's index. */
  images: [number, number];
  sha256: string;
  /** In a merged store: the part sub-store (a folder under `parts/`) that holds this shard. */
  part?: string;
}

/** A part-store that a merged store references (see mergeParts.ts). */
export interface PartEntry {
  name: string;
  images: [number, number];
  vectors: number;
  shards: number;
}

export interface FeatureManifest {
  format: 1;
  kind: 'fact-feature-store';
  model: { file: string; sha256: string };
  layer: { name: string; tensor: string; shape: number[] };
  dtype: FeatureDtype;
  dim: number;
  samplesPerImage: number;
  /** Target vectors per shard (a shard closes at the first image boundary at or past it). */
  shardVectors: number;
  dataset: { source: string; kind: string; images: number; classes: string[] };
  seed: number;
  /** The order images were visited in: a seeded permutation ('shuffled', see collectionOrder.ts) or the dataset's own
   *  order ('dataset'; also every store without this field). Ranges, `imagesDone` and part ranges count positions in it. */
  order?: CollectionOrder;
  /** How locations were sampled. */
  weighting: 'abs-contribution-predicted';
  imagesDone: number;
  vectors: number;
  complete: boolean;
  shards: ShardEntry[];
  /** A part-store (one Slurm task's share) collects only images [first, end) of the dataset. */
  range?: [number, number];
  /** A merged store: the part-stores under `parts/` whose shards it lists (no shard data is copied). */
  parts?: PartEntry[];
  skipped: { id: string; reason: string }[];
  createdAt: string;
  updatedAt: string;
}

export const MANIFEST = 'manifest.json';
/** The folder of a store that holds its part-stores. */
export const PARTS_DIR = 'parts';

/** A part name is one plain folder name: a manifest can never point outside its store. */
export function isPlainName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && name !== '..';
}

/** Where a shard's file is: in the store itself, or in the part-store a merged manifest names. */
export function shardPath(dir: string, s: ShardEntry): string {
  if (s.part === undefined) return path.join(dir, s.file);
  if (!isPlainName(s.part))
    throw new FactError('bad-store', `The manifest of '${dir}' names the part '${s.part}', which is not a plain folder name.`, {
      file: path.join(dir, MANIFEST),
    });
  return path.join(dir, PARTS_DIR, s.part, s.file);
}

export async function readManifest(dir: string): Promise<FeatureManifest> {
  const file = path.join(dir, MANIFEST);
  if (!existsSync(file)) throw new FactError('bad-store', `'${dir}' is not a feature store: it has no ${MANIFEST}.`, { file: dir });
  let m: FeatureManifest;
  try {
    m = JSON.parse((await readFileOrThrow(file, 'feature-store manifest')).toString('utf8')) as FeatureManifest;
  } catch (e) {
    if (isFactError(e)) throw e;
    throw new FactError('bad-store', `The feature-store manifest '${file}' is not valid JSON: ${(e as Error).message}`, { file });
  }
  if (m.kind !== 'fact-feature-store' || m.format !== 1 || !Array.isArray(m.shards)) {
    throw new FactError('bad-store', `'${file}' is not a FaCT feature-store manifest (format 1).`, { file });
  }
  if (!Number.isSafeInteger(m.dim) || m.dim < 1 || (m.dtype !== 'float32' && m.dtype !== 'float16')) {
    throw new FactError(
      'bad-store',
      `The feature-store manifest '${file}' has an invalid "dim" (${JSON.stringify(m.dim)}) or "dtype" (${JSON.stringify(m.dtype)}).`,
      { file, field: 'dim' },
    );
  }
  return m;
}

export async function writeManifest(dir: string, m: FeatureManifest): Promise<void> {
  m.updatedAt = new Date().toISOString();
  await writeFileAtomic(path.join(dir, MANIFEST), `${JSON.stringify(m, null, 1)}\n`);
}

/** Refuses a store that was collected for another model or layer. */
export function checkManifestMatches(m: FeatureManifest, expect: { modelSha256?: string; layer?: string }, dir: string): void {
  if (expect.modelSha256 && m.model.sha256 !== expect.modelSha256) {
    throw new FactError(
      'bad-store',
      `The feature store '${dir}' was collected from another model (${m.model.file}, sha256 ${m.model.sha256.slice(0, 12)}…), not this one (sha256 ${expect.modelSha256.slice(0, 12)}…).`,
      { file: dir },
    );
  }
  if (expect.layer && m.layer.name !== expect.layer && m.layer.tensor !== expect.layer) {
    throw new FactError('bad-store', `The feature store '${dir}' holds features of layer '${m.layer.name}', not '${expect.layer}'.`, {
      file: dir,
    });
  }
}
