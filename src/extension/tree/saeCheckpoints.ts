// Finding SAE checkpoints on disk: folders under `<model dir>/saes/<layer>/**` holding `cfg.json` and
// `sae.safetensors` (the checkpoint layout of src/core/sae/checkpoint.ts). Reading is tolerant: a folder whose
// cfg.json does not parse is still listed, with the problem as its description. No `vscode` import.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';

export const CFG_FILE = 'cfg.json';
export const WEIGHTS_FILE = 'sae.safetensors';

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
}

/** Checkpoints below `root` (at most `maxDepth` folders deep), sorted by name. */
export async function findCheckpoints(root: string, maxDepth = 4): Promise<SaeCheckpointInfo[]> {
  const out: SaeCheckpointInfo[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    if (names.has(CFG_FILE) && names.has(WEIGHTS_FILE)) out.push(await readCheckpoint(root, dir));
    if (depth >= maxDepth) return;
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await walk(path.join(dir, e.name), depth + 1);
  };
  if (existsSync(root)) await walk(root, 0);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function readCheckpoint(root: string, dir: string): Promise<SaeCheckpointInfo> {
  const name = path.relative(root, dir).split(path.sep).join('/') || path.basename(dir);
  try {
    const cfg = JSON.parse(await fs.readFile(path.join(dir, CFG_FILE), 'utf8')) as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const metrics: Record<string, number> = {};
    if (cfg.metrics && typeof cfg.metrics === 'object') {
      for (const [k, v] of Object.entries(cfg.metrics as Record<string, unknown>)) if (num(v) !== undefined) metrics[k] = v as number;
    }
    const info: SaeCheckpointInfo = { dir, name, metrics };
    const k = num(cfg.k), dictSize = num(cfg.dictSize), dModel = num(cfg.dModel);
    if (k !== undefined) info.k = k;
    if (dictSize !== undefined) info.dictSize = dictSize;
    if (dModel !== undefined) info.dModel = dModel;
    if (typeof cfg.layer === 'string') info.layer = cfg.layer;
    if (typeof cfg.createdAt === 'string') info.createdAt = cfg.createdAt;
    return info;
  } catch (e) {
    return { dir, name, metrics: {}, problem: `cfg.json cannot be read: ${(e as Error).message}` };
  }
}

/** "k 32 · 4,096 latents · R² 0.91": the short line a tree item shows. */
export function describeCheckpoint(c: SaeCheckpointInfo): string {
  if (c.problem) return c.problem;
  const parts: string[] = [];
  if (c.k !== undefined) parts.push(`k ${c.k}`);
  if (c.dictSize !== undefined) parts.push(`${c.dictSize.toLocaleString('en-US')} latents`);
  const m = headlineMetrics(c.metrics).slice(0, 2);
  for (const [k, v] of m) parts.push(`${k} ${formatMetric(v)}`);
  return parts.join(' · ');
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
