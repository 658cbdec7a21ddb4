// Where the editor finds a model's SAE checkpoints and feature stores, and the one file the editor writes into a
// checkpoint folder itself (training-log.json: the curves of every training run, written only while it trains into
// that folder). What the core derives from a checkpoint (evaluation, atlas, C²) is read through
// src/core/sae/saeFolder.ts. Reading is tolerant: a missing or broken file reads as undefined. No `vscode` import.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Atlas, AtlasConcept } from '../../core/concepts/atlas';
import { checkpointFiles, openSaeFolder, type SaeFolder } from '../../core/sae/saeFolder';
import { HOW_TO_CHANGE_CACHE, layerFolder, modelWorkDir, type ModelEnv } from '../models';
import { findCheckpoints, type SaeCheckpointInfo } from '../tree/saeCheckpoints';

/** A checkpoint folder with its derived files in the extension's cache (never written into the checkpoint). */
export function saeFolder(sae: string, env: Pick<ModelEnv, 'cacheRoot'>): Promise<SaeFolder> {
  return openSaeFolder(sae, { cacheRoot: env.cacheRoot, howToChange: HOW_TO_CHANGE_CACHE });
}

// ── the checkpoints of a model ──────────────────────────────────────────────────────────────────────────────────

/** Folders holding a model's checkpoints (`<model dir>/saes`, and the work folder's when that differs). */
export function saeRoots(model: string, env: ModelEnv): string[] {
  const roots = [path.join(path.dirname(model), 'saes')];
  const work = path.join(modelWorkDir(model, env), 'saes');
  if (!roots.includes(work)) roots.push(work);
  return roots;
}

/** Every checkpoint of a model, named relative to its saes folder ('layer3', 'layer3/k8-1024'), sorted by name. */
export async function modelCheckpoints(model: string, env: ModelEnv): Promise<SaeCheckpointInfo[]> {
  const found = (await Promise.all(saeRoots(model, env).map((r) => findCheckpoints(r, env.cacheRoot, 5)))).flat();
  const seen = new Set<string>();
  return found.filter((c) => !seen.has(c.dir) && seen.add(c.dir)).sort((a, b) => a.name.localeCompare(b.name));
}

/** A checkpoint's short name: relative to the model's saes folder when it is below one, else its folder's name. */
export function saeDisplayName(sae: string, model: string | undefined, env: ModelEnv | undefined): string {
  if (model && env) {
    for (const root of saeRoots(model, env)) {
      const rel = path.relative(root, sae);
      if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
    }
  }
  return path.basename(sae);
}

/** The default folder for a new checkpoint: `<work dir>/saes/<layer>/k<k>-<dictSize>`, numbered when taken. */
export function defaultCheckpointDir(
  model: string,
  layer: string,
  k: number,
  dictSize: number,
  env: ModelEnv,
): { dir: string; resumable: boolean } {
  const base = path.join(modelWorkDir(model, env), 'saes', layerFolder(layer), `k${k}-${dictSize}`);
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    if (existsSync(path.join(dir, checkpointFiles.trainStateJson))) return { dir, resumable: true };
    if (!existsSync(path.join(dir, checkpointFiles.cfg))) return { dir, resumable: false };
  }
}

// ── the concept atlas ─────────────────────────────────────────────────────────────────────────────────────────

/** Concepts with images, by mean contribution, largest first. */
export function conceptsByContribution(atlas: Atlas): AtlasConcept[] {
  return atlas.concepts.filter((c) => c.images > 0).sort((a, b) => b.meanContribution - a.meanContribution || a.concept - b.concept);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

// ── feature stores ──────────────────────────────────────────────────────────────────────────────────────────────

export interface FeatureStoreInfo {
  dir: string;
  layer: string;
  vectors: number;
  dim: number;
  images: number;
  complete: boolean;
  modelSha256: string;
}

export async function readFeatureStore(dir: string): Promise<FeatureStoreInfo | undefined> {
  try {
    const m = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    if (m.kind !== 'fact-feature-store') return undefined;
    const layer = (m.layer as { name?: unknown } | undefined)?.name;
    return {
      dir,
      layer: typeof layer === 'string' ? layer : '?',
      vectors: isNum(m.vectors) ? m.vectors : 0,
      dim: isNum(m.dim) ? m.dim : 0,
      images: isNum(m.imagesDone) ? m.imagesDone : 0,
      complete: m.complete === true,
      modelSha256: String((m.model as { sha256?: unknown } | undefined)?.sha256 ?? ''),
    };
  } catch {
    return undefined;
  }
}

/** The feature stores FaCT made for a model: `features/<layer>/` beside the model and in its work folder. */
export async function modelFeatureStores(model: string, env: ModelEnv): Promise<FeatureStoreInfo[]> {
  const roots = [...new Set([path.join(path.dirname(model), 'features'), path.join(modelWorkDir(model, env), 'features')])];
  const out: FeatureStoreInfo[] = [];
  for (const root of roots) {
    let entries: string[];
    try {
      entries = (await fs.readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      continue;
    }
    for (const name of entries.sort()) {
      const s = await readFeatureStore(path.join(root, name));
      if (s) out.push(s);
    }
  }
  return out;
}

/**
 * Defaults for a new SAE on `dim`-channel features, after the shipped one (128 channels → 1,024 concepts, k = 8):
 * eight concepts per channel, k = one per 128 concepts (at least 2, at most 64), and a batch that fits the store.
 */
export function defaultSaeShape(dim: number, vectors: number): { k: number; dictSize: number; batchSize: number } {
  const dictSize = Math.max(16, 8 * dim);
  const k = Math.min(64, Math.max(2, Math.round(dictSize / 128)));
  let batchSize = 4096;
  while (batchSize > 2 && batchSize * 8 > vectors) batchSize /= 2;
  return { k, dictSize, batchSize };
}

// ── the training log (training-log.json, the editor's own) ──────────────────────────────────────────────────────

export interface TrainPoint {
  step: number;
  epoch: number;
  loss: number;
  fvu: number;
  l0: number;
  dead: number;
  lr: number;
  vectorsPerSecond: number;
  etaSeconds: number | null;
  validation: number | null;
}

export interface TrainRunLog {
  startedAt: string;
  endedAt?: string;
  state: 'running' | 'succeeded' | 'failed' | 'cancelled';
  resumed: boolean;
  error?: string;
  points: TrainPoint[];
}

export interface TrainingLog {
  format: 1;
  model: string;
  features: string;
  layer: string;
  k: number;
  dictSize: number;
  epochs?: number;
  batchSize?: number;
  runs: TrainRunLog[];
}

export async function readTrainingLog(sae: string): Promise<TrainingLog | undefined> {
  try {
    const l = JSON.parse(await fs.readFile(path.join(sae, checkpointFiles.trainingLog), 'utf8')) as TrainingLog;
    return l && l.format === 1 && Array.isArray(l.runs) && typeof l.model === 'string' ? l : undefined;
  } catch {
    return undefined;
  }
}

export async function writeTrainingLog(sae: string, log: TrainingLog): Promise<void> {
  await fs.mkdir(sae, { recursive: true });
  const file = path.join(sae, checkpointFiles.trainingLog);
  await fs.writeFile(`${file}.tmp`, `${JSON.stringify(log)}\n`);
  await fs.rename(`${file}.tmp`, file);
}

// ── the training state (train-state.json + train-state.safetensors, written by the core's trainer) ─────────────

/** The step the state's JSON names and the step its tensors hold (the safetensors header's metadata). */
async function trainStateSteps(dir: string): Promise<{ json: number; tensors: string | undefined; stamp: string } | undefined> {
  try {
    const jsonFile = path.join(dir, checkpointFiles.trainStateJson);
    const tensorFile = path.join(dir, checkpointFiles.trainState);
    const [j, st1, st2] = await Promise.all([fs.readFile(jsonFile, 'utf8'), fs.stat(jsonFile), fs.stat(tensorFile)]);
    const json = (JSON.parse(j) as { step?: unknown }).step;
    const fh = await fs.open(tensorFile, 'r');
    try {
      const len = Buffer.alloc(8);
      await fh.read(len, 0, 8, 0);
      const n = Number(len.readBigUInt64LE(0));
      if (!(n > 0 && n < 1 << 24)) return undefined;
      const head = Buffer.alloc(n);
      await fh.read(head, 0, n, 8);
      const meta = (JSON.parse(head.toString('utf8')) as { __metadata__?: { step?: string } }).__metadata__;
      return typeof json === 'number' ? { json, tensors: meta?.step, stamp: `${st1.mtimeMs}/${st2.mtimeMs}/${st2.size}` } : undefined;
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * Waits until the saved training state is whole and still (its two files name the same step, unchanged between two
 * looks): a cancelled run's worker may still be saving it just after the cancelled call returned.
 */
export async function waitForTrainState(dir: string, timeoutMs = 10_000, everyMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline) {
    const s = await trainStateSteps(dir);
    const key = s && String(s.json) === s.tensors ? `${s.json}@${s.stamp}` : undefined;
    if (key && key === last) return true;
    last = key;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}
