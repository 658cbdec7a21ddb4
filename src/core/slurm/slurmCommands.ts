// Talking to Slurm through its own commands (sbatch, squeue, scancel): no home-made scheduler. Errors carry
// Slurm's own message (an unknown partition, a time limit over the partition's).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { FactError } from '../errors';

export function commandOnPath(cmd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
  }
  return undefined;
}

export function slurmAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return commandOnPath('sbatch', env) !== undefined;
}

function requireCommand(cmd: string, env: NodeJS.ProcessEnv): void {
  if (!commandOnPath(cmd, env)) {
    throw new FactError(
      'bad-input',
      `--slurm needs Slurm's \`${cmd}\` on the PATH, and there is none (PATH=${env.PATH ?? ''}). Run this on a cluster's login node, or without --slurm to run here.`,
      { command: cmd },
    );
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string } {
  requireCommand(cmd, env);
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  if (r.error) throw new FactError('bad-input', `Could not run ${cmd}: ${r.error.message}`, { command: cmd });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Submits a batch script; returns the job id. `args` go before the script (they override its #SBATCH lines). */
export function sbatch(script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): string {
  const r = run('sbatch', ['--parsable', ...args, script], env);
  const id = r.stdout.trim().split(';')[0]!;
  if (r.status !== 0 || !/^\d+$/.test(id)) {
    const said = r.stderr
      .trim()
      .split('\n')
      .map((l) => l.replace(/^sbatch: (error: )?/, ''))
      .filter(Boolean)
      .join('; ');
    throw new FactError('bad-input', `Slurm refused the job ${script}: ${said || `sbatch exited with ${r.status}`}`, {
      file: script,
      slurm: said,
    });
  }
  return id;
}

export function scancel(jobId: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!/^\d+(_\d+)?$/.test(jobId))
    throw new FactError('bad-input', `'${jobId}' is not a Slurm job id (like 1234 or 1234_5).`, { job: jobId });
  const r = run('scancel', [jobId], env);
  if (r.status !== 0) throw new FactError('bad-input', `scancel ${jobId} failed: ${r.stderr.trim()}`, { job: jobId });
}

export interface SlurmJob {
  /** e.g. 1234 or 1234_5 (an array task). */
  id: string;
  arrayJobId?: string;
  arrayTaskId?: number;
  name: string;
  state: string;
  elapsed: string;
  timeLimit: string;
  reason: string;
  comment: string;
}

const FORMAT = '%i|%j|%T|%M|%l|%r|%k';

/** Parses `squeue -h -r -o FORMAT` (the comment last: it may contain `|`). */
export function parseSqueue(text: string): SlurmJob[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const [id, name, state, elapsed, timeLimit, reason, ...comment] = line.split('|');
      // An array task's id is ARRAYJOB_TASK (with -r, one line per task).
      const task = /^(\d+)_(\d+)$/.exec(id!.trim());
      return {
        id: id!.trim(),
        ...(task ? { arrayJobId: task[1]!, arrayTaskId: Number(task[2]) } : {}),
        name: name!,
        state: state!,
        elapsed: elapsed!,
        timeLimit: timeLimit!,
        reason: reason!,
        comment: comment.join('|').replace(/^\(null\)$/, ''),
      };
    });
}

/** The user's jobs that Slurm still knows (pending, running, and recently finished ones). */
export function listJobs(env: NodeJS.ProcessEnv = process.env): SlurmJob[] {
  const r = run('squeue', ['-h', '-r', '--me', '--states=all', '-o', FORMAT], env);
  if (r.status !== 0) throw new FactError('bad-input', `squeue failed: ${r.stderr.trim()}`, { command: 'squeue' });
  return parseSqueue(r.stdout);
}

export const ACTIVE_STATES = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESIZING',
  'SIGNALING',
  'STAGE_OUT',
]);

export function isActive(job: SlurmJob): boolean {
  return ACTIVE_STATES.has(job.state);
}
