// `fact jobs` and the Cluster jobs tree: this project's Slurm jobs (named fact-*, with a `fact:KIND:DIR` comment),
// each with its state from squeue, its progress read from what it writes (a part-store's manifest, a checkpoint's
// training state) and its log file.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { MANIFEST, PARTS_DIR } from '../features/manifest';
import { partName } from '../features/mergeParts';
import { checkpointFiles } from '../sae/saeFolder';
import { logDir } from './slurmCollect';
import { isActive, listJobs, type SlurmJob } from './slurmCommands';

export interface FactJob extends SlurmJob {
  kind: string;
  /** The store or checkpoint folder the job writes. */
  dir: string;
  active: boolean;
  /** 0–1 when known. */
  fraction?: number;
  progress: string;
  log: string;
}

export function parseComment(comment: string): { kind: string; dir: string } | undefined {
  const m = /^fact:([a-z]+):(.+)$/.exec(comment);
  return m ? { kind: m[1]!, dir: m[2]! } : undefined;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function progressOf(kind: string, dir: string, job: SlurmJob): { fraction?: number; progress: string } {
  if (kind === 'collect' && job.arrayTaskId !== undefined) {
    const m = readJson(path.join(dir, PARTS_DIR, partName(job.arrayTaskId), MANIFEST));
    if (!m) return { fraction: 0, progress: 'not started' };
    const [a, b] = m.range as [number, number];
    const done = (m.imagesDone as number) - a;
    return { fraction: done / (b - a), progress: `${done}/${b - a} images${m.complete ? ' (complete)' : ''}` };
  }
  if (kind === 'merge') {
    const m = readJson(path.join(dir, MANIFEST));
    return m?.complete ? { fraction: 1, progress: `merged: ${String(m.vectors)} vectors` } : { progress: 'waiting for the parts' };
  }
  if (kind === 'train') {
    const st = readJson(path.join(dir, checkpointFiles.trainStateJson));
    if (st) return { progress: `step ${String(st.step)} (epoch ${Number(st.epoch) + 1}), saved ${String(st.savedAt)}` };
    return existsSync(path.join(dir, checkpointFiles.weights)) && !isActive(job)
      ? { fraction: 1, progress: 'trained' }
      : { progress: 'no saved state yet' };
  }
  return { progress: '' };
}

export function logPath(kind: string, dir: string, job: SlurmJob): string {
  return job.arrayTaskId !== undefined
    ? path.join(logDir(dir), `${kind}-${job.arrayJobId}_${job.arrayTaskId}.out`)
    : path.join(logDir(dir), `${kind}-${job.id}.out`);
}

export function describeJobs(jobs: SlurmJob[]): FactJob[] {
  const out: FactJob[] = [];
  for (const j of jobs) {
    const c = parseComment(j.comment);
    if (!c || !j.name.startsWith('fact-')) continue;
    out.push({ ...j, ...c, active: isActive(j), ...progressOf(c.kind, c.dir, j), log: logPath(c.kind, c.dir, j) });
  }
  return out;
}

export function factJobs(env: NodeJS.ProcessEnv = process.env): FactJob[] {
  return describeJobs(listJobs(env));
}
