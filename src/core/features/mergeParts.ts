// Merging part-stores (one per Slurm array task, in STORE/parts/part-NNN) into one store without copying shard data:
// STORE/manifest.json lists every part's shards with the part they live in. Every part is validated first — the
// same model, layer, dtype, sampling, seed and dataset; complete; the ranges tiling the dataset; every shard's
// checksum — and a problem names the part and the task to run again. The merged store equals, image for image, the
// store one machine would have collected (each image's sampling depends only on its index and the seed).
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError, throwIfAborted } from '../errors';
import { checkShard } from './featureStore';
import { isPlainName, MANIFEST, PARTS_DIR, readManifest, writeManifest, type FeatureManifest, type PartEntry } from './manifest';

/** Part folders are named by their task index, so an error can say which task to run again. */
export function partName(task: number): string {
  return `part-${String(task).padStart(3, '0')}`;
}

export function taskOfPart(name: string): number | undefined {
  const m = /^part-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface MergeOptions {
  /** What the scheduler says about a part's task (e.g. "job 12_2 is RUNNING"), for an incomplete part. */
  taskState?: (task: number) => string | undefined;
  /** How many parts the collection was planned with (parts not yet started have no folder). */
  expectedParts?: number;
  /** How to run a task again, for the error messages. */
  rerunHint?: string;
  signal?: AbortSignal;
}

/** The fields every part must share with the first, with their names for the error message. */
const SAME: [string, (m: FeatureManifest) => unknown][] = [
  ['model (sha256)', (m) => m.model.sha256],
  ['layer', (m) => m.layer.tensor],
  ['dtype', (m) => m.dtype],
  ['dim', (m) => m.dim],
  ['samples per image', (m) => m.samplesPerImage],
  ['seed', (m) => m.seed],
  ['weighting', (m) => m.weighting],
  ['collection order', (m) => m.order ?? 'dataset'],
  ['dataset', (m) => m.dataset.source],
  ['dataset images', (m) => m.dataset.images],
  ['shard size', (m) => m.shardVectors],
];

export async function listParts(storeDir: string, expected = 0): Promise<string[]> {
  const dir = path.join(storeDir, PARTS_DIR);
  if (expected > 0) {
    const found = existsSync(dir) ? (await fs.readdir(dir)).filter(isPlainName) : [];
    return [...new Set([...found, ...Array.from({ length: expected }, (_, i) => partName(i))])].sort();
  }
  if (!existsSync(dir))
    throw new FactError('bad-store', `'${storeDir}' has no ${PARTS_DIR}/ folder of part-stores to merge.`, { file: storeDir });
  const names = (await fs.readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && isPlainName(e.name))
    .map((e) => e.name)
    .sort();
  if (names.length === 0) throw new FactError('bad-store', `'${dir}' holds no part-stores.`, { file: dir });
  return names;
}

export async function mergeParts(storeDir: string, opts: MergeOptions = {}): Promise<FeatureManifest> {
  const rerun = opts.rerunHint ?? 'fact collect … --slurm --resume';
  const names = await listParts(storeDir, opts.expectedParts);
  const parts: { name: string; dir: string; m: FeatureManifest; task: string }[] = [];
  const notReady: { name: string; dir: string; task: string; t: number | undefined; what: string }[] = [];
  for (const name of names) {
    const dir = path.join(storeDir, PARTS_DIR, name);
    const t = taskOfPart(name);
    const task = t === undefined ? `part ${name}` : `task ${t}`;
    if (!existsSync(path.join(dir, MANIFEST))) {
      notReady.push({ name, dir, task, t, what: 'has not started collecting' });
      continue;
    }
    const m = await readManifest(dir);
    if (!m.range)
      throw new FactError('bad-store', `'${dir}' is a whole feature store, not a part-store (its manifest has no image range).`, {
        file: path.join(dir, MANIFEST),
      });
    parts.push({ name, dir, m, task });
  }
  const first = parts[0];
  for (const p of first ? parts.slice(1) : []) {
    for (const [field, get] of SAME) {
      if (get(p.m) !== get(first!.m)) {
        throw new FactError(
          'bad-store',
          `Part '${p.dir}' (${p.task}) does not belong with '${first!.dir}': its ${field} is ${String(get(p.m))}, not ${String(get(first!.m))} (${p.m.model.file} layer '${p.m.layer.name}').`,
          { file: path.join(p.dir, MANIFEST), field },
        );
      }
    }
  }
  for (const p of parts) {
    const [a, b] = p.m.range!;
    if (!p.m.complete)
      notReady.push({ ...p, t: taskOfPart(p.name), what: `is not complete: ${p.m.imagesDone - a} of ${b - a} images collected` });
  }
  if (notReady.length) {
    // Every unfinished part in one message, each with what the scheduler says about its task.
    const lines = notReady.map((p) => {
      const state = p.t !== undefined ? opts.taskState?.(p.t) : undefined;
      return `Part '${p.dir}' (${p.task}) ${p.what}${state ? `; ${state}` : ''}.`;
    });
    throw new FactError(
      'bad-store',
      `${lines.join('\n')}\nWait for running tasks to finish; resume failed or cancelled ones with \`${rerun}\`.`,
      { file: storeDir, parts: notReady.map((p) => p.name) },
    );
  }
  // The ranges must tile [0, images) exactly: no image missing, none twice.
  const sorted = [...parts].sort((x, y) => x.m.range![0] - y.m.range![0]);
  let at = 0;
  for (const p of sorted) {
    const [a, b] = p.m.range!;
    if (a > at)
      throw new FactError(
        'bad-store',
        `No part holds images ${at}–${a - 1}: the parts in '${path.join(storeDir, PARTS_DIR)}' do not cover the dataset.`,
        { file: storeDir },
      );
    if (a < at) throw new FactError('bad-store', `Part '${p.dir}' (${p.task}) overlaps another part at image ${a}.`, { file: p.dir });
    at = b;
  }
  const images = first!.m.dataset.images;
  if (at !== images) throw new FactError('bad-store', `No part holds images ${at}–${images - 1} of ${images}.`, { file: storeDir });
  for (const p of sorted) {
    for (const s of p.m.shards) {
      throwIfAborted(opts.signal, 'Merging');
      if (!isPlainName(s.file))
        throw new FactError('bad-store', `Part '${p.dir}' (${p.task}) names the shard '${s.file}', which is not a plain file name.`, {
          file: path.join(p.dir, MANIFEST),
        });
      const problem = await checkShard(p.dir, p.m, s);
      if (problem)
        throw new FactError(
          'bad-store',
          `${problem} Part '${p.dir}' is damaged: run ${p.task} again with \`${rerun}\` (it collects again from the damaged shard).`,
          { file: path.join(p.dir, s.file), part: p.name },
        );
    }
  }
  const now = new Date().toISOString();
  const { range: _r, ...base } = first!.m;
  const merged: FeatureManifest = {
    ...base,
    imagesDone: images,
    complete: true,
    vectors: sorted.reduce((n, p) => n + p.m.vectors, 0),
    shards: sorted.flatMap((p) => p.m.shards.map((s) => ({ ...s, part: p.name }))),
    parts: sorted.map((p): PartEntry => ({ name: p.name, images: p.m.range!, vectors: p.m.vectors, shards: p.m.shards.length })),
    skipped: sorted.flatMap((p) => p.m.skipped),
    createdAt: now,
    updatedAt: now,
  };
  await writeManifest(storeDir, merged);
  return merged;
}

/**
 * Makes a damaged part resumable: its manifest is cut back to before the first shard that is missing or fails its
 * checksum, so that collecting the part again starts there. Returns the number of shards dropped.
 */
export async function truncateDamagedPart(partDir: string): Promise<number> {
  const m = await readManifest(partDir);
  for (const [i, s] of m.shards.entries()) {
    if (!(await checkShard(partDir, m, s))) continue;
    const dropped = m.shards.length - i;
    m.shards = m.shards.slice(0, i);
    m.imagesDone = s.images[0];
    m.vectors = m.shards.reduce((n, x) => n + x.vectors, 0);
    m.complete = false;
    await writeManifest(partDir, m);
    return dropped;
  }
  return 0;
}
