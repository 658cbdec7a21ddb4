// The Slurm options of collect, train, evaluate and consistency, declared apart from src/cli/slurm.ts so that
// declaring them (for parsing and --help) loads nothing of the core.
import { opt } from './options';

/** The Slurm options of collect, train, evaluate and consistency. */
export const slurmOptions = {
  slurm: opt.flag('submit the command as a Slurm job (collect: an array of --tasks jobs by image range, then a merge job)'),
  tasks: opt.int('N', '(--slurm collect) number of array tasks'),
  partition: opt.string('P', '(--slurm) partition'),
  gres: opt.string('GRES', '(--slurm) generic resources, e.g. gpu:1'),
  time: opt.string('T', '(--slurm) time limit'),
  requeue: opt.flag('(--slurm) requeue after a time limit or preemption; the job resumes from its saved state'),
  'sbatch-args': opt.string('"…"', '(--slurm) more sbatch arguments'),
  resume: opt.flag('(--slurm collect) resubmit the parts that failed or were cancelled'),
};
