// `fact collect --slurm`: plans N parts by image range, writes the array job's script and the merge job's script
// into STORE/slurm/ (visible), submits the array and a merge job that runs when every task succeeded, and records
// the submission in STORE/slurm/collect.json. `--resume` submits the same script again for the parts that are
// neither finished nor still queued (a failed, cancelled or damaged part resumes where its store stops).
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError, isFactError } from '../errors';
import { MANIFEST, PARTS_DIR, readManifest } from '../features/manifest';
import { partName, truncateDamagedPart } from '../features/mergeParts';
import { containedFile } from '../util/containedFile';
import { readFileOrThrow, writeFileAtomic } from '../util/files';
import { collectArrayScript, jobComment, planRanges, singleJobScript, type FactCommand, type SlurmOptions } from './batchScript';
import { isActive, listJobs, sbatch, scancel, type SlurmJob } from './slurmCommands';

export const SLURM_DIR = 'slurm';
const PLAN = 'collect.json';
const SCRIPT = 'collect.sbatch';
const MERGE_SCRIPT = 'merge.sbatch';

export interface CollectSubmission {
  at: string;
  arrayJobId?: string;
  tasks: number[];
  mergeJobId: string;
  waitsFor: string[];
}

export interface CollectPlan {
  format: 1;
  kind: 'fact-slurm-collect';
  store: string;
  ranges: [number, number][];
  script: string;
  mergeScript: string;
  submissions: CollectSubmission[];
}

export interface SubmitCollectOptions {
  store: string;
  workDir: string;
  fact: FactCommand;
  /** The collect command's own arguments (model, layer, data, sampling…) without --out and the Slurm options. */
  collectArgs: string[];
  images: number;
  slurm: SlurmOptions;
  env?: NodeJS.ProcessEnv;
}

function planFile(store: string): string {
  return path.join(store, SLURM_DIR, PLAN);
}

export function logDir(dir: string): string {
  return path.join(dir, SLURM_DIR, 'logs');
}

export async function readCollectPlan(store: string): Promise<CollectPlan | undefined> {
  const file = planFile(path.resolve(store));
  if (!existsSync(file)) return undefined;
  let plan: CollectPlan;
  try {
    plan = JSON.parse((await readFileOrThrow(file, 'Slurm collection plan')).toString('utf8')) as CollectPlan;
  } catch (e) {
    if (isFactError(e)) throw e;
    throw new FactError('bad-store', `'${file}' is not valid JSON: ${(e as Error).message}`, { file });
  }
  const bad = (field: string) =>
    new FactError('bad-store', `'${file}' has no valid "${field}": it was not written by this version of FaCT or is damaged.`, {
      file,
      field,
    });
  if (
    !Array.isArray(plan.ranges) ||
    !plan.ranges.every((r) => Array.isArray(r) && r.length === 2 && r.every((v) => Number.isSafeInteger(v) && v >= 0))
  )
    throw bad('ranges');
  if (!Array.isArray(plan.submissions)) throw bad('submissions');
  // The scripts a resume submits are the store's own (a plan from a shared or moved store must not make us submit
  // another file): the fixed names in its slurm/ folder, regular files that stay inside it.
  const dir = path.join(path.resolve(store), SLURM_DIR);
  plan.script = await containedFile(dir, SCRIPT, { file, field: 'script', code: 'bad-store' });
  plan.mergeScript = await containedFile(dir, MERGE_SCRIPT, { file, field: 'mergeScript', code: 'bad-store' });
  return plan;
}

export async function submitCollection(o: SubmitCollectOptions): Promise<{ plan: CollectPlan; submission: CollectSubmission }> {
  const store = path.resolve(o.store);
  const env = o.env ?? process.env;
  if (existsSync(planFile(store)))
    throw new FactError(
      'bad-input',
      `'${store}' already has a Slurm collection (${planFile(store)}); add --resume to continue it, or collect into another folder.`,
      { file: store },
    );
  if (existsSync(path.join(store, MANIFEST)))
    throw new FactError('bad-input', `'${store}' already holds a feature store collected on one machine; collect into another folder.`, {
      file: store,
    });
  const ranges = planRanges(o.images, o.slurm.tasks ?? 4);
  await fs.mkdir(logDir(store), { recursive: true });
  const script = path.join(store, SLURM_DIR, SCRIPT);
  const mergeScript = path.join(store, SLURM_DIR, MERGE_SCRIPT);
  await writeFileAtomic(
    script,
    collectArrayScript({
      store,
      workDir: o.workDir,
      fact: o.fact,
      collectArgs: o.collectArgs,
      ranges,
      logDir: logDir(store),
      slurm: o.slurm,
    }),
  );
  // The merge needs one CPU and little time: no GPU, the partition and account of the collection.
  const mergeSlurm: SlurmOptions = {
    ...(o.slurm.partition ? { partition: o.slurm.partition } : {}),
    ...(o.slurm.sbatchArgs ? { sbatchArgs: o.slurm.sbatchArgs } : {}),
  };
  await writeFileAtomic(
    mergeScript,
    singleJobScript({
      kind: 'merge',
      dir: store,
      workDir: o.workDir,
      fact: o.fact,
      args: ['merge', store],
      logDir: logDir(store),
      slurm: mergeSlurm,
      extraDirectives: ['--kill-on-invalid-dep=yes'],
    }),
  );
  await Promise.all([fs.chmod(script, 0o755), fs.chmod(mergeScript, 0o755)]);
  const plan: CollectPlan = { format: 1, kind: 'fact-slurm-collect', store, ranges, script, mergeScript, submissions: [] };
  const submission = submitParts(
    plan,
    ranges.map((_, i) => i),
    [],
    env,
    false,
  );
  plan.submissions.push(submission);
  await writeFileAtomic(planFile(store), `${JSON.stringify(plan, null, 1)}\n`);
  return { plan, submission };
}

/** Submits the array for `tasks` (all of them: the script's own --array) and a merge job waiting for it and `alsoWaitFor`. */
function submitParts(
  plan: CollectPlan,
  tasks: number[],
  alsoWaitFor: string[],
  env: NodeJS.ProcessEnv,
  overrideArray: boolean,
): CollectSubmission {
  const arrayJobId = tasks.length ? sbatch(plan.script, overrideArray ? [`--array=${tasks.join(',')}`] : [], env) : undefined;
  const waitsFor = [...(arrayJobId ? [arrayJobId] : []), ...alsoWaitFor];
  let mergeJobId: string;
  try {
    mergeJobId = sbatch(plan.mergeScript, waitsFor.length ? [`--dependency=afterok:${waitsFor.join(':')}`] : [], env);
  } catch (e) {
    // Without its merge job the array would finish into parts nobody merges: take it back.
    if (arrayJobId) scancel(arrayJobId, env);
    throw e;
  }
  return { at: new Date().toISOString(), ...(arrayJobId ? { arrayJobId } : {}), tasks, mergeJobId, waitsFor };
}

/** This store's collection tasks that Slurm still runs or will run, by task index. */
export function activeTasks(store: string, env: NodeJS.ProcessEnv = process.env): Map<number, SlurmJob> {
  const comment = jobComment('collect', path.resolve(store));
  const out = new Map<number, SlurmJob>();
  for (const j of listJobs(env)) if (j.comment === comment && j.arrayTaskId !== undefined && isActive(j)) out.set(j.arrayTaskId, j);
  return out;
}

export interface ResumeResult {
  plan: CollectPlan;
  submission?: CollectSubmission;
  resubmitted: number[];
  stillQueued: number[];
  alreadyMerged: boolean;
}

export async function resumeCollection(storeDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ResumeResult> {
  const store = path.resolve(storeDir);
  const plan = await readCollectPlan(store);
  if (!plan)
    throw new FactError(
      'bad-input',
      `'${store}' has no Slurm collection to resume (no ${path.join(SLURM_DIR, PLAN)}); submit one with --slurm.`,
      { file: store },
    );
  if (existsSync(path.join(store, MANIFEST)) && (await readManifest(store)).complete)
    return { plan, resubmitted: [], stillQueued: [], alreadyMerged: true };
  const active = activeTasks(store, env);
  // A merge job still waiting belongs to the earlier submission: one new merge job replaces it.
  const mergeComment = jobComment('merge', store);
  for (const j of listJobs(env)) if (j.comment === mergeComment && j.state === 'PENDING') scancel(j.id, env);
  const resubmit: number[] = [];
  for (const [i] of plan.ranges.entries()) {
    if (active.has(i)) continue;
    const dir = path.join(store, PARTS_DIR, partName(i));
    if (!existsSync(path.join(dir, MANIFEST))) {
      resubmit.push(i);
      continue;
    }
    const m = await readManifest(dir);
    if (!m.complete || (await truncateDamagedPart(dir)) > 0) resubmit.push(i);
  }
  const stillQueued = [...active.keys()].sort((a, b) => a - b);
  const submission = submitParts(
    plan,
    resubmit,
    stillQueued.map((t) => active.get(t)!.id),
    env,
    true,
  );
  plan.submissions.push(submission);
  await writeFileAtomic(planFile(store), `${JSON.stringify(plan, null, 1)}\n`);
  return { plan, submission, resubmitted: resubmit, stillQueued, alreadyMerged: false };
}
