// The Cluster jobs items' commands: open a job's log, cancel a job (scancel).
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { FactJob } from '../../core/slurm/jobStatus';
import { scancel } from '../../core/slurm/slurmCommands';
import type { Fact } from '../services';

function jobOf(arg: unknown): FactJob | undefined {
  const a = arg as { kind?: string; job?: FactJob; id?: string; log?: string } | undefined;
  if (a?.kind === 'job' && a.job) return a.job;
  return a && typeof a.id === 'string' && typeof a.log === 'string' ? (a as FactJob) : undefined;
}

export async function openJobLog(fact: Fact, arg: unknown): Promise<void> {
  const job = jobOf(arg);
  if (!job) return;
  if (!existsSync(job.log)) {
    void fact.ui.info(`FaCT: job ${job.id} has no log yet (${job.state.toLowerCase()}); it will be ${job.log}.`);
    return;
  }
  await vscode.window.showTextDocument(vscode.Uri.file(job.log), { preview: true });
}

export async function cancelClusterJob(fact: Fact, arg: unknown): Promise<void> {
  const job = jobOf(arg);
  if (!job) return;
  const yes = await fact.ui.warn(
    `Cancel Slurm job ${job.id} (${job.kind})? A cancelled collection task or training resumes later.`,
    { modal: true },
    'Cancel Job',
  );
  if (yes !== 'Cancel Job') return;
  try {
    scancel(job.id);
  } catch (e) {
    void fact.ui.error(`FaCT: ${(e as Error).message}`);
  }
  fact.clusterJobs?.poll();
}
