// "Run on this machine / Submit to Slurm" for Collect Features and Train SAE: when sbatch is on the PATH (a login
// node, or Remote-SSH to one), the job can go to the cluster instead. Submitting runs the extension's own CLI with
// --slurm — the same code path as `fact … --slurm` in a terminal — with the node from the PATH (the cluster's
// nodes run that CLI too, so the extension must sit on a filesystem they share: see the README).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { DatasetSpec } from '../../core/data/openDataset';
import { commandOnPath, slurmAvailable } from '../../core/slurm/slurmCommands';
import { log } from '../log';
import type { Fact } from '../services';

export type RunWhere = 'here' | 'slurm';

/** sbatch on the PATH and a cluster configured for it (an installed but unconfigured slurm-wlm offers nothing). */
export function slurmConfigured(): boolean {
  if (!slurmAvailable()) return false;
  return (
    Boolean(process.env.SLURM_CONF) ||
    ['/etc/slurm/slurm.conf', '/etc/slurm-llnl/slurm.conf', '/run/slurm/conf/slurm.conf'].some((f) => existsSync(f))
  );
}

/** The CLI's arguments for a dataset. */
export function datasetArgs(d: DatasetSpec): string[] {
  return d.kind === 'folder' ? ['--data', d.path] : d.kind === 'idx' ? ['--images', d.images, '--labels', d.labels] : ['--split', d.split];
}

/** Asks where to run when Slurm is available; 'here' without asking otherwise; undefined when dismissed. */
export async function askWhereToRun(fact: Fact, what: string): Promise<RunWhere | undefined> {
  if (!slurmConfigured()) return 'here';
  const picked = await fact.ui.quickPick<RunWhere>(
    [
      { label: 'Run on this machine', value: 'here', description: 'a job in this window, with progress' },
      { label: 'Submit to Slurm', value: 'slurm', description: 'sbatch; follow it under Cluster jobs in the FaCT view' },
    ],
    { title: `FaCT: ${what} — where?` },
  );
  return picked?.value;
}

/** Runs `fact ARGS --slurm` with the extension's CLI; resolves to its output, rejects with its error message. */
export function submitWithCli(fact: Fact, args: string[]): Promise<string> {
  const node = commandOnPath('node');
  const cli = path.join(fact.env().extensionPath, 'bin', 'fact.js');
  if (!node) return Promise.reject(new Error('Submitting to Slurm runs the FaCT CLI with `node`, and there is no node on the PATH.'));
  log().info(`Submitting to Slurm: ${node} ${cli} ${args.join(' ')} --slurm`);
  return new Promise((resolve, reject) => {
    execFile(node, [cli, ...args, '--slurm'], { cwd: fact.env().workspaceFolder ?? path.dirname(cli) }, (err, stdout, stderr) => {
      if (stdout) log().info(stdout.trim());
      if (err) reject(new Error(stderr.trim().replace(/^error: /, '') || err.message));
      else resolve(stdout.trim());
    });
  });
}
