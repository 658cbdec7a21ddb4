// The *Cluster jobs* node of the FaCT view: this project's Slurm jobs (squeue, via the core's factJobs) with their
// state, progress and log. Polled while any job is queued or running; when one finishes the whole view refreshes,
// so a merged store or a trained checkpoint appears.
import * as vscode from 'vscode';
import { factJobs, type FactJob } from '../../core/slurm/jobStatus';
import { log } from '../log';

const POLL_MS = 15_000;

export class ClusterJobs implements vscode.Disposable {
  jobs: FactJob[] = [];
  problem: string | undefined;
  private readonly changed = new vscode.EventEmitter<{ finished: boolean }>();
  readonly onDidChange = this.changed.event;
  private timer: NodeJS.Timeout | undefined;

  /** Reads the queue now, and again every few seconds while a job is active. */
  poll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const before = new Set(this.jobs.filter((j) => j.active).map((j) => j.id));
    try {
      this.jobs = factJobs();
      this.problem = undefined;
    } catch (e) {
      this.problem = (e as Error).message;
      log().warn(`Cluster jobs: ${this.problem}`);
    }
    const finished = this.jobs.some((j) => before.has(j.id) && !j.active);
    this.changed.fire({ finished });
    if (this.jobs.some((j) => j.active)) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}

export function clusterJobItem(job: FactJob): vscode.TreeItem {
  const item = new vscode.TreeItem(`${job.kind} ${job.id}`, vscode.TreeItemCollapsibleState.None);
  item.id = `slurm:${job.id}`;
  item.description = [job.state.toLowerCase(), job.progress, job.elapsed !== '0:00' ? job.elapsed : ''].filter(Boolean).join(' · ');
  item.iconPath = new vscode.ThemeIcon(
    job.state === 'RUNNING'
      ? 'sync~spin'
      : job.state === 'PENDING'
        ? 'clock'
        : job.state === 'COMPLETED'
          ? 'pass'
          : job.active
            ? 'loading~spin'
            : 'error',
  );
  item.tooltip = new vscode.MarkdownString(
    `**Slurm job ${job.id}** (${job.name}): ${job.state}${job.reason && job.reason !== 'None' ? ` — ${job.reason}` : ''}\n\n${job.progress ? `${job.progress}\n\n` : ''}Output: \`${job.dir}\`\n\nLog: \`${job.log}\``,
  );
  item.contextValue = job.active ? 'fact.clusterJob.active' : 'fact.clusterJob';
  item.command = { command: 'fact.openJobLog', title: 'Open Log', arguments: [job] };
  return item;
}
