// What the editor reads from the files the core writes beside an SAE checkpoint (the concept atlas, the C² report,
// feature stores) and the one file the editor writes there itself (training-log.json: the curves of every training
// run). Reading is tolerant: a missing or broken file reads as undefined. No `vscode` import.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Atlas, AtlasConcept, AtlasImage } from '../../core/concepts/atlas';
import type { ConsistencyReport } from '../../core/consistency/measureConsistency';
import { layerFolder, modelWorkDir, type ModelEnv } from '../models';
import { BESIDE, findCheckpoints, type SaeCheckpointInfo } from '../tree/saeCheckpoints';

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
  const found = (await Promise.all(saeRoots(model, env).map((r) => findCheckpoints(r, 5)))).flat();
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
export function defaultCheckpointDir(model: string, layer: string, k: number, dictSize: number, env: ModelEnv): { dir: string; resumable: boolean } {
  const base = path.join(modelWorkDir(model, env), 'saes', layerFolder(layer), `k${k}-${dictSize}`);
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    if (existsSync(path.join(dir, BESIDE.trainState))) return { dir, resumable: true };
    if (!existsSync(path.join(dir, 'cfg.json'))) return { dir, resumable: false };
  }
}

// ── the concept atlas (atlas/atlas.json, written by the core's `concepts`) ──────────────────────────────────────

// The atlas's shapes are the core's (src/core/concepts/atlas.ts), read here without the core's checks so the
// extension host never loads the large evaluation records just to show a concept.
export type AtlasImageSummary = AtlasImage;
export type AtlasConceptSummary = AtlasConcept;
export type AtlasSummary = Pick<Atlas, 'checkpointSha256' | 'evaluationSha256' | 'layer' | 'dictSize' | 'imagesEvaluated' | 'side' | 'cell' | 'concepts'>;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export async function readAtlas(sae: string): Promise<AtlasSummary | undefined> {
  try {
    const a = JSON.parse(await fs.readFile(path.join(sae, BESIDE.atlas), 'utf8')) as Record<string, unknown>;
    if (!Array.isArray(a.concepts) || !isNum(a.dictSize)) return undefined;
    const concepts = (a.concepts as Record<string, unknown>[]).filter((c) => c && isNum(c.concept)).map((c) => ({
      concept: c.concept as number,
      frequency: isNum(c.frequency) ? c.frequency : 0,
      images: isNum(c.images) ? c.images : 0,
      meanPresence: isNum(c.meanPresence) ? c.meanPresence : 0,
      meanContribution: isNum(c.meanContribution) ? c.meanContribution : 0,
      classes: Array.isArray(c.classes) ? (c.classes as { index: number; name: string; contribution: number }[]).filter((k) => k && isNum(k.index) && typeof k.name === 'string' && isNum(k.contribution)) : [],
      top: Array.isArray(c.top) ? (c.top as AtlasImageSummary[]).filter((t) => t && isNum(t.image) && isNum(t.presence) && isNum(t.contribution) && isNum(t.label) && isNum(t.predicted)) : [],
      ...(typeof c.strip === 'string' ? { strip: c.strip } : {}),
    }));
    return {
      checkpointSha256: String(a.checkpointSha256 ?? ''),
      evaluationSha256: String(a.evaluationSha256 ?? ''),
      layer: String(a.layer ?? ''),
      dictSize: a.dictSize as number,
      imagesEvaluated: isNum(a.imagesEvaluated) ? a.imagesEvaluated : 0,
      side: isNum(a.side) ? a.side : 0,
      cell: isNum(a.cell) ? a.cell : 0,
      concepts,
    };
  } catch {
    return undefined;
  }
}

/** The evaluation summary's hashes (evaluation.json), which the atlas must match to be current. */
export async function readEvaluationStamp(sae: string): Promise<{ checkpointSha256: string; recordsSha256: string; evaluatedAt?: string } | undefined> {
  try {
    const e = JSON.parse(await fs.readFile(path.join(sae, BESIDE.evaluationJson), 'utf8')) as Record<string, unknown>;
    if (typeof e.checkpointSha256 !== 'string' || typeof e.recordsSha256 !== 'string') return undefined;
    return { checkpointSha256: e.checkpointSha256, recordsSha256: e.recordsSha256, ...(typeof e.evaluatedAt === 'string' ? { evaluatedAt: e.evaluatedAt } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * True when the atlas on disk was built from the evaluation on disk (so `concepts` will reuse it rather than trace
 * thousands of images). Whether the evaluation matches the weights is the core's check.
 */
export async function atlasLooksCurrent(sae: string): Promise<boolean> {
  const [atlas, ev] = await Promise.all([readAtlasStamp(sae), readEvaluationStamp(sae)]);
  return !!atlas && !!ev && atlas.checkpointSha256 === ev.checkpointSha256 && atlas.evaluationSha256 === ev.recordsSha256;
}

async function readAtlasStamp(sae: string): Promise<{ checkpointSha256: string; evaluationSha256: string } | undefined> {
  // atlas.json can be megabytes; its hashes are near the start.
  try {
    const fh = await fs.open(path.join(sae, BESIDE.atlas), 'r');
    try {
      const buf = Buffer.alloc(1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      const head = buf.subarray(0, bytesRead).toString('utf8');
      const ck = /"checkpointSha256"\s*:\s*"([0-9a-f]+)"/.exec(head)?.[1];
      const ev = /"evaluationSha256"\s*:\s*"([0-9a-f]+)"/.exec(head)?.[1];
      return ck && ev ? { checkpointSha256: ck, evaluationSha256: ev } : undefined;
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

const hashes = new Map<string, { mtimeMs: number; size: number; sha256: Promise<string> }>();

/** sha256 of a file, streamed (the event loop stays free), remembered while its size and mtime stay. */
export async function fileSha256(file: string): Promise<string> {
  const st = await fs.stat(file);
  const hit = hashes.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.sha256;
  const sha256 = new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
  hashes.set(file, { mtimeMs: st.mtimeMs, size: st.size, sha256 });
  sha256.catch(() => hashes.delete(file));
  return sha256;
}

/**
 * True when the atlas on disk belongs to these weights and their evaluation (the core's own test for reusing it):
 * the evaluation was made of the weights on disk, and the atlas of that evaluation.
 */
export async function atlasIsCurrent(sae: string): Promise<boolean> {
  const [atlas, ev] = await Promise.all([readAtlasStamp(sae), readEvaluationStamp(sae)]);
  if (!atlas || !ev || atlas.checkpointSha256 !== ev.checkpointSha256 || atlas.evaluationSha256 !== ev.recordsSha256) return false;
  return (await fileSha256(path.join(sae, 'sae.safetensors')).catch(() => '')) === ev.checkpointSha256;
}

/** Concepts with images, by mean contribution, largest first. */
export function conceptsByContribution(atlas: AtlasSummary): AtlasConceptSummary[] {
  return atlas.concepts.filter((c) => c.images > 0).sort((a, b) => b.meanContribution - a.meanContribution || a.concept - b.concept);
}

// ── the C² report (consistency.json) ────────────────────────────────────────────────────────────────────────────

export type ConsistencyFile = Pick<ConsistencyReport, 'foundation' | 'concepts' | 'dropped' | 'mean' | 'randomMean' | 'deltaRandom' | 'minImagesForMean' | 'conceptsInMean'> & { checkpointSha256?: string };

export async function readConsistency(sae: string): Promise<ConsistencyFile | undefined> {
  try {
    const r = JSON.parse(await fs.readFile(path.join(sae, BESIDE.consistency), 'utf8')) as Record<string, unknown>;
    if (!Array.isArray(r.concepts) || !isNum(r.mean)) return undefined;
    return {
      foundation: String(r.foundation ?? ''),
      concepts: (r.concepts as Record<string, unknown>[]).filter((c) => c && isNum(c.concept) && isNum(c.score)).map((c) => ({ concept: c.concept as number, images: isNum(c.images) ? c.images : 0, score: c.score as number, random: isNum(c.random) ? c.random : 0 })),
      dropped: Array.isArray(r.dropped) ? (r.dropped as ConsistencyFile['dropped']) : [],
      mean: r.mean,
      randomMean: isNum(r.randomMean) ? r.randomMean : 0,
      deltaRandom: isNum(r.deltaRandom) ? r.deltaRandom : 0,
      minImagesForMean: isNum(r.minImagesForMean) ? r.minImagesForMean : 0,
      conceptsInMean: isNum(r.conceptsInMean) ? r.conceptsInMean : 0,
      ...(typeof r.checkpointSha256 === 'string' ? { checkpointSha256: r.checkpointSha256 } : {}),
    };
  } catch {
    return undefined;
  }
}

// ── feature stores ──────────────────────────────────────────────────────────────────────────────────────────────

export interface FeatureStoreInfo { dir: string; layer: string; vectors: number; dim: number; images: number; complete: boolean; modelSha256: string }

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
    let entries: string[] = [];
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

export interface TrainPoint { step: number; epoch: number; loss: number; fvu: number; l0: number; dead: number; lr: number; vectorsPerSecond: number; etaSeconds: number | null; validation: number | null }

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
    const l = JSON.parse(await fs.readFile(path.join(sae, BESIDE.trainingLog), 'utf8')) as TrainingLog;
    return l && l.format === 1 && Array.isArray(l.runs) && typeof l.model === 'string' ? l : undefined;
  } catch {
    return undefined;
  }
}

export async function writeTrainingLog(sae: string, log: TrainingLog): Promise<void> {
  await fs.mkdir(sae, { recursive: true });
  const file = path.join(sae, BESIDE.trainingLog);
  await fs.writeFile(`${file}.tmp`, `${JSON.stringify(log)}\n`);
  await fs.rename(`${file}.tmp`, file);
}

// ── the training state (train-state.json + train-state.safetensors, written by the core's trainer) ─────────────

/** The step the state's JSON names and the step its tensors hold (the safetensors header's metadata). */
async function trainStateSteps(dir: string): Promise<{ json: number; tensors: string | undefined; stamp: string } | undefined> {
  try {
    const jsonFile = path.join(dir, BESIDE.trainState);
    const tensorFile = path.join(dir, 'train-state.safetensors');
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
