// The CLI's Slurm face: `--slurm` on collect, train, evaluate and consistency (the same command submitted as a batch
// job), `fact merge`, `fact jobs [cancel ID]`. Kept apart from main.ts so its options move as one block.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { openDataset, type DatasetSpec } from '../core/data/openDataset';
import { FactError } from '../core/errors';
import type { CoreServices } from '../core/jobs/services';
import { mergeParts } from '../core/features/mergeParts';
import { withWriterLock } from '../core/util/writerLock';
import { splitShellWords, type FactCommand, type SlurmOptions } from '../core/slurm/batchScript';
import { activeTasks, readCollectPlan, resumeCollection, submitCollection } from '../core/slurm/slurmCollect';
import { commandOnPath, scancel, slurmAvailable } from '../core/slurm/slurmCommands';
import { submitSingleJob } from '../core/slurm/slurmJob';
import { factJobs } from '../core/slurm/jobStatus';
import { UsageError } from './options';
import { slurmOptions } from './slurmOptions';

const slurmFlags = Object.entries(slurmOptions)
  .filter(([, o]) => o.flag)
  .map(([n]) => n);
const slurmValues = Object.entries(slurmOptions)
  .filter(([, o]) => !o.flag)
  .map(([n]) => n);

/** What the Slurm functions read of a parsed command line. */
interface SlurmArgs {
  positional: string[];
  options: {
    out?: string;
    sae?: string;
    limit?: number;
    threads?: number;
    tasks?: number;
    partition?: string;
    gres?: string;
    time?: string;
    requeue?: boolean;
    'sbatch-args'?: string;
    resume?: boolean;
    json?: boolean;
  };
}

/** How a batch job runs this CLI: the same node and the same bin/fact.js (FACT_CLI overrides the script). */
export function factCommand(): FactCommand {
  if (process.env.FACT_CLI) return [process.execPath, path.resolve(process.env.FACT_CLI)];
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const bin = path.join(dir, 'bin', 'fact.js');
    if (existsSync(bin)) return [process.execPath, bin];
    if (path.dirname(dir) === dir)
      throw new FactError('bad-input', 'Cannot find bin/fact.js above the running CLI; set FACT_CLI to its path on the cluster.');
  }
}

function slurmSettings(o: SlurmArgs['options']): SlurmOptions {
  let extra: string[] | undefined;
  try {
    extra = o['sbatch-args'] !== undefined ? splitShellWords(o['sbatch-args']) : undefined;
  } catch (e) {
    throw new UsageError(`--sbatch-args: ${(e as Error).message}`);
  }
  return {
    ...(o.tasks ? { tasks: o.tasks } : {}),
    ...(o.partition ? { partition: o.partition } : {}),
    ...(o.gres ? { gres: o.gres } : {}),
    ...(o.time ? { time: o.time } : {}),
    ...(o.requeue ? { requeue: true } : {}),
    ...(extra ? { sbatchArgs: extra } : {}),
    ...(o.threads ? { cpusPerTask: o.threads } : {}),
  };
}

/** The command's own arguments as given, without the Slurm options, --json (it is for the submission's own output)
 * and the value options in `drop`. */
export function forwardedArgs(argv: string[], drop: string[] = []): string[] {
  const flags = new Set([...slurmFlags, 'json']);
  const values = new Set([...slurmValues, ...drop]);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const key = a.startsWith('--') ? a.slice(2).split('=')[0]! : undefined;
    if (key && flags.has(key)) continue;
    if (key && values.has(key)) {
      if (!a.includes('=')) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** `--slurm` on a command: submit it instead of running it. Returns the exit code. */
export async function submitToSlurm(
  command: 'collect' | 'train' | 'evaluate' | 'consistency',
  args: SlurmArgs,
  c: { argv: string[]; services: CoreServices; out: (s: string) => void },
  dataset: () => DatasetSpec,
): Promise<number> {
  const { argv, services, out } = c;
  const json = args.options.json === true;
  if (!slurmAvailable()) {
    throw new FactError(
      'bad-input',
      `--slurm needs Slurm's \`sbatch\` on the PATH, and there is none (PATH=${process.env.PATH ?? ''}). Run this on a cluster's login node, or without --slurm to run here.`,
      { command: 'sbatch' },
    );
  }
  const o = args.options;
  const slurm = slurmSettings(o);
  const workDir = process.cwd();
  const say = (text: string, data: unknown) => out(json ? JSON.stringify(data, null, 2) : text);
  if (command === 'collect') {
    const store = path.resolve(o.out!);
    if (o.resume) {
      const r = await resumeCollection(store);
      if (r.alreadyMerged) {
        say(`${store} is already merged: nothing to resume.`, r);
        return 0;
      }
      say(
        [
          r.resubmitted.length
            ? `Resubmitted task(s) ${r.resubmitted.join(', ')} as job ${r.submission!.arrayJobId} (${r.plan.script}).`
            : 'No task needs to run again.',
          ...(r.stillQueued.length ? [`Still queued or running: task(s) ${r.stillQueued.join(', ')}.`] : []),
          `Merge job ${r.submission!.mergeJobId} runs when they succeed. Watch with \`fact jobs\`.`,
        ].join('\n'),
        r,
      );
      return 0;
    }
    const model = args.positional[0]!;
    const ctx = await services.model(model);
    const data = await openDataset(ctx, dataset());
    const images = Math.min(data.size, o.limit ?? Infinity);
    const { plan, submission } = await submitCollection({
      store,
      workDir,
      fact: factCommand(),
      collectArgs: forwardedArgs(argv, ['out']),
      images,
      slurm,
    });
    say(
      [
        `Submitted array job ${submission.arrayJobId}: ${plan.ranges.length} tasks over ${images} images into ${path.join(store, 'parts')}/part-NNN`,
        `  script   ${plan.script}`,
        `  merge    job ${submission.mergeJobId} (${plan.mergeScript}) after all tasks succeed`,
        `  logs     ${path.join(store, 'slurm', 'logs')}`,
        'Watch with `fact jobs`; resubmit failed or cancelled tasks with the same command and --resume.',
      ].join('\n'),
      { plan, submission },
    );
    return 0;
  }
  const dir = command === 'train' ? o.out! : o.sae!;
  const r = await submitSingleJob({ kind: command, dir, workDir, fact: factCommand(), args: [command, ...forwardedArgs(argv)], slurm });
  say(`Submitted ${command} as job ${r.jobId}\n  script   ${r.script}\n  log      ${r.log}\nWatch with \`fact jobs\`.`, r);
  return 0;
}

export async function runMerge(argv: string[], out: (s: string) => void, json: boolean, signal: AbortSignal): Promise<number> {
  const store = argv[0]!;
  const t0 = Date.now();
  const env = process.env;
  const canAsk = commandOnPath('squeue', env) !== undefined;
  let tasks: ReturnType<typeof activeTasks> | undefined;
  const plan = await readCollectPlan(store);
  // The merged manifest is written into the store: one writer at a time, as for collect (the parts have their own).
  const m = await withWriterLock(
    store,
    `fact merge ${store}`,
    (note) => {
      if (!json) out(note);
    },
    () =>
      mergeParts(store, {
        signal,
        ...(plan ? { expectedParts: plan.ranges.length } : {}),
        rerunHint: `fact collect … --out ${store} --slurm --resume`,
        taskState: (t) => {
          if (!canAsk) return undefined;
          tasks ??= activeTasks(store, env);
          const j = tasks.get(t);
          return j ? `its job ${j.id} is ${j.state}` : undefined;
        },
      }),
  );
  const seconds = (Date.now() - t0) / 1000;
  out(
    json
      ? JSON.stringify(m, null, 2)
      : `Merged ${m.parts!.length} parts into ${store}: ${m.imagesDone} images, ${m.vectors} vectors in ${m.shards.length} shards (${seconds.toFixed(2)} s; no shard copied).`,
  );
  return 0;
}

export async function runJobs(argv: string[], out: (s: string) => void, json: boolean): Promise<number> {
  const [sub, id, ...extra] = argv;
  if (sub === 'cancel') {
    if (!id || extra.length) throw new UsageError('fact jobs cancel takes one job ID.', 'jobs');
    scancel(id);
    out(json ? JSON.stringify({ cancelled: id }) : `Cancelled job ${id}.`);
    return 0;
  }
  if (sub !== undefined) throw new UsageError(`Unknown \`fact jobs ${sub}\` (try \`fact jobs\` or \`fact jobs cancel ID\`).`, 'jobs');
  if (!slurmAvailable())
    throw new FactError('bad-input', "fact jobs needs Slurm's squeue on the PATH, and there is none.", { command: 'squeue' });
  const jobs = factJobs();
  if (json) {
    out(JSON.stringify(jobs, null, 2));
    return 0;
  }
  if (!jobs.length) {
    out("No FaCT jobs in Slurm's queue.");
    return 0;
  }
  const rows = jobs.map((j) => [j.id, j.kind, j.state, j.elapsed, j.progress, j.log]);
  const widths = [0, 1, 2, 3, 4].map((c) =>
    Math.max(...[['JOB', 'KIND', 'STATE', 'TIME', 'PROGRESS'][c]!.length, ...rows.map((r) => r[c]!.length)]),
  );
  const line = (r: string[]) => r.map((v, c) => (c < 5 ? v.padEnd(widths[c]!) : v)).join('  ');
  out([line(['JOB', 'KIND', 'STATE', 'TIME', 'PROGRESS', 'LOG']), ...rows.map(line)].join('\n'));
  return 0;
}
