// A throw-away one-node Slurm cluster for the tests: Debian's slurm-wlm and munge (installed with apt-get when
// missing and we are root), config, state, spool, logs and munge's socket and key in a temp folder, daemons on
// 127.0.0.1 ports chosen free, stopped at the end by their PIDs. `startSlurmCluster` resolves to a cluster or to the
// reason it cannot start (not root, apt-get failed, a daemon did not come up), which the tests print when skipping.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { tempDir } from './paths';

export interface SlurmCluster {
  dir: string;
  /** The environment for Slurm's commands and for jobs (SLURM_CONF points into `dir`). */
  env: NodeJS.ProcessEnv;
  partition: string;
  stop(): Promise<void>;
}

export type ClusterOrReason = { cluster: SlurmCluster; reason?: undefined } | { cluster?: undefined; reason: string };

const PARTITION = 'debug';
/** The partition's time limit in minutes: a job asking for more is refused at submission. */
export const PARTITION_MAX_MINUTES = 30;

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function installSlurm(): string | undefined {
  if (onPath('slurmctld') && onPath('slurmd') && onPath('munged') && onPath('sbatch')) return undefined;
  if (process.getuid?.() !== 0) return 'Slurm (slurm-wlm, munge) is not installed and installing it needs root';
  if (!onPath('apt-get')) return 'Slurm is not installed and there is no apt-get to install it';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', 'slurm-wlm', 'munge'], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
    r = spawnSync('apt-get', ['install', '-y', '-qq', 'slurm-wlm', 'munge'], { env, encoding: 'utf8' });
  }
  if (r.status !== 0)
    return `apt-get install slurm-wlm munge failed: ${String(r.stderr ?? '')
      .trim()
      .split('\n')
      .pop()}`;
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it is true; gives up after `attempts` polls (a bound against a daemon that never starts). */
async function until(check: () => boolean, attempts: number): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return check();
}

export async function startSlurmCluster(): Promise<ClusterOrReason> {
  if (process.platform !== 'linux') return { reason: 'the test cluster needs Linux' };
  if (process.getuid?.() !== 0) return { reason: 'starting a throw-away Slurm cluster needs root (slurmd runs jobs as any user)' };
  const missing = installSlurm();
  if (missing) return { reason: missing };
  const dir = tempDir('fact-slurm-');
  for (const d of ['state', 'spool', 'log', 'munge']) mkdirSync(path.join(dir, d), { recursive: true });
  chmodSync(dir, 0o755);
  const host = hostname().split('.')[0]!;
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const socket = path.join(dir, 'munge', 'munge.socket');
  const conf = path.join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=facttest',
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'MpiDefault=none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      'JobCompType=jobcomp/none',
      'ReturnToService=2',
      'EnforcePartLimits=ALL',
      'KillWait=10',
      'MinJobAge=600',
      'SchedulerParameters=sched_interval=1',
      // One task per core: a 4-task array on a 2-core machine runs two at a time, like a busy cluster.
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${Math.max(1, Number(execFileSync('nproc', { encoding: 'utf8' }).trim()))} RealMemory=1000 State=UNKNOWN`,
      `PartitionName=${PARTITION} Nodes=${host} Default=YES MaxTime=${PARTITION_MAX_MINUTES} State=UP`,
      '',
    ].join('\n'),
  );
  const started: number[] = [];
  const stopPids = async () => {
    for (const pid of started.reverse()) if (alive(pid)) process.kill(pid, 'SIGTERM');
    await until(() => started.every((p) => !alive(p)), 40);
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  };
  const fail = async (why: string): Promise<ClusterOrReason> => {
    await stopPids();
    const log = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').slice(-3).join(' | ') : '');
    return { reason: `${why} (${log(path.join(dir, 'log', 'slurmctld.log'))} ${log(path.join(dir, 'log', 'slurmd.log'))})` };
  };
  // Our own munged on our own socket and key: nothing of the machine's munge is used or changed.
  const key = path.join(dir, 'munge', 'munge.key');
  writeFileSync(key, Buffer.from(Array.from({ length: 128 }, (_, i) => (i * 131 + 7 + Math.floor(Math.random() * 256)) & 255)), {
    mode: 0o400,
  });
  const mungePid = path.join(dir, 'munge', 'munged.pid');
  const m = spawnSync(
    'munged',
    [
      '--force',
      `--socket=${socket}`,
      `--key-file=${key}`,
      `--pid-file=${mungePid}`,
      `--log-file=${dir}/log/munged.log`,
      `--seed-file=${dir}/munge/seed`,
    ],
    { encoding: 'utf8' },
  );
  const mpid = readPid(mungePid);
  if (m.status !== 0 || !mpid) return fail(`munged did not start: ${m.stderr.trim()}`);
  started.push(mpid);
  const env = { ...process.env, SLURM_CONF: conf };
  for (const [daemon, pidFile] of [
    ['slurmctld', 'slurmctld.pid'],
    ['slurmd', 'slurmd.pid'],
  ] as const) {
    const r = spawnSync(daemon, ['-f', conf], { env, encoding: 'utf8' });
    if (r.status !== 0) return fail(`${daemon} did not start: ${r.stderr.trim()}`);
    if (!(await until(() => readPid(path.join(dir, pidFile)) !== undefined, 40))) return fail(`${daemon} wrote no PID file`);
    started.push(readPid(path.join(dir, pidFile))!);
  }
  const idle = () => /idle/.test(spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout ?? '');
  if (!(await until(idle, 80))) return fail('the Slurm node did not become idle');
  const cluster: SlurmCluster = {
    dir,
    env,
    partition: PARTITION,
    async stop() {
      // Jobs first (their processes are not the daemons' children), then the daemons by PID.
      spawnSync('scancel', ['--full', '--quiet', '--user', 'root'], { env });
      await until(() => (spawnSync('squeue', ['-h', '-t', 'PD,R,CG,S'], { env, encoding: 'utf8' }).stdout ?? '').trim() === '', 120);
      await stopPids();
    },
  };
  return { cluster };
}
