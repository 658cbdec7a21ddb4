// Slurm batch scripts, as text: written next to the job's output (visible, so a user can adapt them; a resume
// submits the same file again) and then given to sbatch. Pure functions only.

export interface SlurmOptions {
  /** Array tasks (collection only). */
  tasks?: number;
  partition?: string;
  /** e.g. gpu:1 */
  gres?: string;
  /** Slurm's time format, e.g. 2:00:00 or 1-00:00:00. */
  time?: string;
  cpusPerTask?: number;
  /** Requeue after preemption or at the time limit (the job resumes from its saved state). */
  requeue?: boolean;
  /** More sbatch options, one `#SBATCH` line each. */
  sbatchArgs?: string[];
}

/** How a batch job starts the CLI: the same project, e.g. `node /shared/fact/bin/fact.js`. */
export type FactCommand = string[];

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Splits `--sbatch-args "…"` like a shell would (quotes and backslashes; no expansion). */
export function splitShellWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unbalanced ${quote} in "${s}"`);
  if (inWord) words.push(cur);
  return words;
}

/** The `#SBATCH` lines shared by every FaCT job. `comment` tells `fact jobs` what the job is and where its output is. */
function directives(o: { name: string; output: string; comment: string; workDir: string; slurm: SlurmOptions; array?: string }): string[] {
  const s = o.slurm;
  return [
    `--job-name=${o.name}`,
    ...(o.array ? [`--array=${o.array}`] : []),
    `--output=${o.output}`,
    `--chdir=${o.workDir}`,
    `--comment=${o.comment}`,
    ...(s.partition ? [`--partition=${s.partition}`] : []),
    ...(s.gres ? [`--gres=${s.gres}`] : []),
    ...(s.time ? [`--time=${s.time}`] : []),
    ...(s.cpusPerTask ? [`--cpus-per-task=${s.cpusPerTask}`] : []),
    ...(s.requeue ? ['--requeue', '--open-mode=append', '--signal=B:USR1@90'] : []),
    ...(s.sbatchArgs ?? []),
  ].map((d) => `#SBATCH ${d}`);
}

export function jobComment(kind: string, dir: string): string {
  return `fact:${kind}:${dir}`;
}

/** An array job: task i collects images FROM[i]..TO[i]-1 into `<store>/parts/part-<i>`. */
export function collectArrayScript(o: {
  store: string;
  workDir: string;
  fact: FactCommand;
  collectArgs: string[];
  ranges: [number, number][];
  logDir: string;
  slurm: SlurmOptions;
}): string {
  return [
    '#!/bin/bash',
    '# FaCT feature collection as a Slurm array job, written by `fact collect --slurm`. Task i collects images',
    '# FROM[i]..TO[i]-1 into parts/part-<i> (its own part-store); a dependent job merges the parts when all succeed.',
    '# `fact collect … --slurm --resume` submits this file again for the tasks that did not finish: edit it freely.',
    ...directives({
      name: 'fact-collect',
      output: `${o.logDir}/collect-%A_%a.out`,
      comment: jobComment('collect', o.store),
      workDir: o.workDir,
      slurm: o.slurm,
      array: `0-${o.ranges.length - 1}`,
    }),
    'set -euo pipefail',
    `FROM=(${o.ranges.map((r) => r[0]).join(' ')})`,
    `TO=(${o.ranges.map((r) => r[1]).join(' ')})`,
    'i=${SLURM_ARRAY_TASK_ID:?run this script with sbatch}',
    `PART=${shellQuote(`${o.store}/parts`)}/$(printf 'part-%03d' "$i")`,
    `exec ${[...o.fact, 'collect', ...o.collectArgs].map(shellQuote).join(' ')} --out "$PART" --range "\${FROM[$i]}:\${TO[$i]}"`,
    '',
  ].join('\n');
}

/**
 * One job running one CLI command (merge, train, evaluate, consistency). With `requeue`, Slurm's warning signal
 * (USR1, 90 s before the time limit) stops the command — which saves its state — and requeues the job, which then
 * resumes; a preempted job is requeued by Slurm itself.
 */
export function singleJobScript(o: {
  kind: string;
  dir: string;
  workDir: string;
  fact: FactCommand;
  args: string[];
  logDir: string;
  slurm: SlurmOptions;
  extraDirectives?: string[];
}): string {
  const run = [...o.fact, ...o.args].map(shellQuote).join(' ');
  return [
    '#!/bin/bash',
    `# FaCT ${o.kind} as a Slurm job, written by \`fact ${o.kind} --slurm\`. Edit it freely and submit it with sbatch.`,
    ...directives({
      name: `fact-${o.kind}`,
      output: `${o.logDir}/${o.kind}-%j.out`,
      comment: jobComment(o.kind, o.dir),
      workDir: o.workDir,
      slurm: o.slurm,
    }),
    ...(o.extraDirectives ?? []).map((d) => `#SBATCH ${d}`),
    'set -uo pipefail',
    ...(o.slurm.requeue
      ? [
          `${run} &`,
          'PID=$!',
          'trap \'echo "time limit near: saving and requeueing"; kill -INT $PID; wait $PID; scontrol requeue "$SLURM_JOB_ID"; exit 0\' USR1',
          'wait $PID; STATUS=$?',
          // `wait` returns early (>128) when the trap runs; the trap exits itself.
          'exit $STATUS',
        ]
      : [`exec ${run}`]),
    '',
  ].join('\n');
}

/** Splits [0, images) into `tasks` contiguous ranges of near-equal size (fewer when there are fewer images). */
export function planRanges(images: number, tasks: number): [number, number][] {
  const n = Math.max(1, Math.min(tasks, images));
  return Array.from({ length: n }, (_, i) => [Math.floor((i * images) / n), Math.floor(((i + 1) * images) / n)] as [number, number]);
}
