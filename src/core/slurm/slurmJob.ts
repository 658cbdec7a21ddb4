// `fact train|evaluate|consistency … --slurm`: one batch job running the same command (without --slurm) on a
// node. Its script and log go into the output's slurm/ folder (the checkpoint folder the command writes anyway).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/files';
import { singleJobScript, type FactCommand, type SlurmOptions } from './batchScript';
import { logDir, SLURM_DIR } from './slurmCollect';
import { sbatch } from './slurmCommands';

export interface SingleJobOptions {
  kind: 'train' | 'evaluate' | 'consistency';
  /** The folder the command writes (the checkpoint): script, log and progress live there. */
  dir: string;
  workDir: string;
  fact: FactCommand;
  /** The command's own arguments, without the Slurm options. */
  args: string[];
  slurm: SlurmOptions;
  env?: NodeJS.ProcessEnv;
}

export async function submitSingleJob(o: SingleJobOptions): Promise<{ jobId: string; script: string; log: string }> {
  const dir = path.resolve(o.dir);
  await fs.mkdir(logDir(dir), { recursive: true });
  const script = path.join(dir, SLURM_DIR, `${o.kind}.sbatch`);
  await writeFileAtomic(
    script,
    singleJobScript({ kind: o.kind, dir, workDir: o.workDir, fact: o.fact, args: o.args, logDir: logDir(dir), slurm: o.slurm }),
  );
  await fs.chmod(script, 0o755);
  const jobId = sbatch(script, [], o.env ?? process.env);
  return { jobId, script, log: path.join(logDir(dir), `${o.kind}-${jobId}.out`) };
}
