// Finding SAE checkpoints on disk: folders under `<model dir>/saes/<layer>/**` holding `cfg.json` and
// `sae.safetensors`, with what was derived from them (evaluation, C²: read through src/core/sae/saeFolder.ts, from
// the cache or shipped with the checkpoint). Reading is tolerant: a folder whose cfg.json does not parse is still
// listed, with the problem as its description. No `vscode` import.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { checkpointFiles, derivedFilesPresent, openSaeFolder, readConsistency, readEvaluation } from '../../core/sae/saeFolder';
import { readFileOrThrow } from '../../core/util/files';
import { codeSpan } from '../hover/hoverText';
import { formatPercent } from '../../../common/format';

/** The evaluation's headline figures (the core's evaluation summary; a checkpoint's cfg.json may carry them too). */
export interface CheckpointEvaluation {
  images?: number;
  accuracy?: number;
  accuracyWithSae?: number;
  imageL0?: number;
  relativeSquaredError?: number;
  coverageL0?: number;
  alive?: number;
  alivePercentage?: number;
  dataset?: string;
}

/** The C² report's headline figures (the core's consistency.json; a checkpoint's cfg.json may carry them too). */
export interface CheckpointConsistency {
  foundation?: string;
  mean: number;
  randomMean?: number;
  deltaRandom?: number;
  concepts?: number;
}

export interface SaeCheckpointInfo {
  dir: string;
  /** Path below the layer's saes folder ('k32-4096', 'runs/a'). */
  name: string;
  k?: number;
  dictSize?: number;
  dModel?: number;
  layer?: string;
  metrics: Record<string, number>;
  createdAt?: string;
  /** Why cfg.json could not be read, if it could not. */
  problem?: string;
  evaluation?: CheckpointEvaluation;
  consistency?: CheckpointConsistency;
  /** Fraction of variance unexplained: from cfg.json when the core records it, else the last training report. */
  fvu?: { value: number; source: 'cfg' | 'training' };
  trainingSteps?: number;
  /** A training run was interrupted and its state saved: training can resume. */
  resumable?: boolean;
  has?: { evaluation: boolean; atlas: boolean; consistency: boolean; trainingLog: boolean };
}

/** Checkpoints below `root` (at most `maxDepth` folders deep), sorted by name; `cacheRoot` holds derived files. */
export async function findCheckpoints(root: string, cacheRoot: string, maxDepth = 4): Promise<SaeCheckpointInfo[]> {
  const out: SaeCheckpointInfo[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    if (names.has(checkpointFiles.cfg) && names.has(checkpointFiles.weights)) out.push(await readCheckpoint(root, dir, cacheRoot));
    if (depth >= maxDepth) return;
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await walk(path.join(dir, e.name), depth + 1);
  };
  if (existsSync(root)) await walk(root, 0);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function readCheckpoint(root: string, dir: string, cacheRoot: string): Promise<SaeCheckpointInfo> {
  const name = path.relative(root, dir).split(path.sep).join('/') || path.basename(dir);
  try {
    const cfg = JSON.parse((await readFileOrThrow(path.join(dir, checkpointFiles.cfg), 'SAE config')).toString('utf8')) as Record<
      string,
      unknown
    >;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const metrics: Record<string, number> = {};
    if (cfg.metrics && typeof cfg.metrics === 'object') {
      for (const [k, v] of Object.entries(cfg.metrics as Record<string, unknown>)) if (num(v) !== undefined) metrics[k] = v as number;
    }
    const info: SaeCheckpointInfo = { dir, name, metrics };
    const k = num(cfg.k),
      dictSize = num(cfg.dictSize),
      dModel = num(cfg.dModel);
    if (k !== undefined) info.k = k;
    if (dictSize !== undefined) info.dictSize = dictSize;
    if (dModel !== undefined) info.dModel = dModel;
    if (typeof cfg.layer === 'string') info.layer = cfg.layer;
    if (typeof cfg.createdAt === 'string') info.createdAt = cfg.createdAt;
    const rec = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
    // The latest evaluation and C² report of these weights (cache or shipped), else what cfg.json records.
    const folder = await openSaeFolder(dir, { cacheRoot });
    const evaluated = await readEvaluation(folder).catch(() => undefined);
    const measured = await readConsistency(folder).catch(() => undefined);
    const ev = evaluated
      ? ({ ...evaluated.summary.metrics, dataset: evaluated.summary.datasetSource } as Record<string, unknown>)
      : rec(cfg.evaluation);
    if (ev) {
      const e: CheckpointEvaluation = {};
      for (const key of [
        'images',
        'accuracy',
        'accuracyWithSae',
        'imageL0',
        'relativeSquaredError',
        'coverageL0',
        'alive',
        'alivePercentage',
      ] as const) {
        const v = num(ev[key]);
        if (v !== undefined) e[key] = v;
      }
      if (typeof ev.dataset === 'string') e.dataset = ev.dataset;
      info.evaluation = e;
    }
    const m = measured?.report;
    const cs = m
      ? ({
          foundation: path.basename(m.foundation),
          mean: m.mean,
          randomMean: m.randomMean,
          deltaRandom: m.deltaRandom,
          concepts: m.conceptsInMean,
        } as Record<string, unknown>)
      : rec(cfg.consistency);
    if (cs && num(cs.mean) !== undefined) {
      const c: CheckpointConsistency = { mean: cs.mean as number };
      if (num(cs.randomMean) !== undefined) c.randomMean = cs.randomMean as number;
      if (num(cs.deltaRandom) !== undefined) c.deltaRandom = cs.deltaRandom as number;
      if (num(cs.concepts) !== undefined) c.concepts = cs.concepts as number;
      if (typeof cs.foundation === 'string') c.foundation = cs.foundation;
      info.consistency = c;
    }
    const training = rec(cfg.training);
    if (training && num(training.steps) !== undefined) info.trainingSteps = training.steps as number;
    const cfgFvu = num(metrics.fvu) ?? num(ev?.fvu) ?? num(training?.fvu);
    if (cfgFvu !== undefined) info.fvu = { value: cfgFvu, source: 'cfg' };
    else {
      const last = await lastTrainingFvu(dir);
      if (last !== undefined) info.fvu = { value: last, source: 'training' };
    }
    info.resumable = existsSync(path.join(dir, checkpointFiles.trainStateJson));
    const present = derivedFilesPresent(folder);
    info.has = {
      evaluation: !!evaluated,
      atlas: present.atlas,
      consistency: !!measured,
      trainingLog: existsSync(path.join(dir, checkpointFiles.trainingLog)),
    };
    return info;
  } catch (e) {
    return { dir, name, metrics: {}, problem: `cfg.json cannot be read: ${(e as Error).message}` };
  }
}

/** The last FVU of the training log the editor keeps beside a checkpoint, if any. */
async function lastTrainingFvu(dir: string): Promise<number | undefined> {
  try {
    const log = JSON.parse((await readFileOrThrow(path.join(dir, checkpointFiles.trainingLog), 'training log')).toString('utf8')) as {
      runs?: { points?: { fvu?: unknown }[] }[];
    };
    const points = (log.runs ?? []).flatMap((r) => r.points ?? []);
    const v = points.at(-1)?.fvu;
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** "k 8 · 1,024 concepts · acc 84.1 % · C² 0.61 · FVU 0.12": the short line a tree item shows. */
export function describeCheckpoint(c: SaeCheckpointInfo): string {
  if (c.problem) return c.problem;
  const parts: string[] = [];
  if (c.k !== undefined) parts.push(`k ${c.k}`);
  if (c.dictSize !== undefined) parts.push(`${c.dictSize.toLocaleString('en-US')} latents`);
  const known = checkpointFacts(c);
  if (known.length) parts.push(...known.map((f) => f.short));
  else for (const [k, v] of headlineMetrics(c.metrics).slice(0, 2)) parts.push(`${k} ${formatMetric(v)}`);
  if (c.resumable) parts.push('interrupted');
  return parts.join(' · ');
}

export interface CheckpointFact {
  key: 'accuracy' | 'c2' | 'fvu';
  short: string;
  long: string;
}

/** Accuracy with the SAE, mean C² and FVU, when known: short (tree description) and long (tooltip) forms. */
export function checkpointFacts(c: SaeCheckpointInfo): CheckpointFact[] {
  const out: CheckpointFact[] = [];
  const e = c.evaluation;
  if (e?.accuracyWithSae !== undefined) {
    out.push({
      key: 'accuracy',
      short: `acc ${formatPercent(e.accuracyWithSae)}`,
      long: `Accuracy with the SAE: ${formatPercent(e.accuracyWithSae)}${e.accuracy !== undefined ? ` (without: ${formatPercent(e.accuracy)})` : ''}${e.images !== undefined ? ` on ${e.images.toLocaleString('en-US')} images` : ''}`,
    });
  }
  const cs = c.consistency;
  if (cs) {
    out.push({
      key: 'c2',
      short: `C² ${cs.mean.toFixed(3)}`,
      long: `Mean C²: ${cs.mean.toFixed(3)}${cs.randomMean !== undefined ? ` (random traces: ${cs.randomMean.toFixed(3)}, Δ ${(cs.mean - cs.randomMean).toFixed(3)})` : ''}${cs.concepts !== undefined ? ` over ${cs.concepts} concepts` : ''}${cs.foundation ? `, foundation ${codeSpan(cs.foundation)}` : ''}`,
    });
  }
  if (c.fvu) {
    out.push({
      key: 'fvu',
      short: `FVU ${formatMetric(c.fvu.value)}`,
      long: `FVU: ${formatMetric(c.fvu.value)}${c.fvu.source === 'training' ? ' (last training report)' : ''}`,
    });
  }
  return out;
}

/** Metrics worth a glance first (explained variance / accuracy-like ones), then the rest by name. */
export function headlineMetrics(metrics: Record<string, number>): [string, number][] {
  const score = (k: string) => (/r2|explained|variance|fvu/i.test(k) ? 0 : /acc/i.test(k) ? 1 : /dead/i.test(k) ? 2 : 3);
  return Object.entries(metrics).sort((a, b) => score(a[0]) - score(b[0]) || a[0].localeCompare(b[0]));
}

export function formatMetric(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}
