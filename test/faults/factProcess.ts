// The fault suite's handle on a real `fact` process (bin/fact.js, the built CLI): its output line by line, and
// faults injected at observable states — SIGKILL or SIGSTOP right after the Nth progress line that matches.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../support/paths';

/** Where derived files go when a case names no --out: never the user's cache. */
const suiteCache = mkdtempSync(path.join(tmpdir(), 'fact-faults-cache-'));

export interface FactRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  matched: number;
}

export interface Fault {
  /** Progress lines (stderr) that count. */
  pattern: RegExp;
  /** Act right after this many matching lines. */
  after: number;
  action: 'kill' | 'stop';
}

export class FactProcess {
  readonly child: ChildProcess;
  readonly done: Promise<FactRun>;
  /** Resolves once the fault was injected (or the process ended without reaching it). */
  readonly faulted: Promise<boolean>;
  private matched = 0;

  constructor(args: string[], fault?: Fault, extraEnv: Record<string, string> = {}) {
    // Every progress line (the faults are injected after the Nth), and a cache of the suite's own.
    const env = { ...process.env, FACT_PROGRESS_SECONDS: '0', FACT_CACHE: suiteCache, ...extraEnv };
    this.child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'fact.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    let pending = '';
    let onFault: (hit: boolean) => void = () => undefined;
    this.faulted = new Promise((resolve) => {
      onFault = resolve;
    });
    this.child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    this.child.stderr!.on('data', (b: Buffer) => {
      const text = b.toString();
      err += text;
      if (!fault) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (!fault.pattern.test(line) || ++this.matched !== fault.after) continue;
        this.child.kill(fault.action === 'kill' ? 'SIGKILL' : 'SIGSTOP');
        onFault(true);
      }
    });
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        onFault(false);
        resolve({ code, signal, out, err, matched: this.matched });
      });
    });
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }
}

export function runFact(args: string[], fault?: Fault, extraEnv?: Record<string, string>): Promise<FactRun> {
  return new FactProcess(args, fault, extraEnv).done;
}

/** `count` distinct whole numbers in [lo, hi], sorted, from a seeded xorshift: the same kill points every run. */
export function seededPoints(seed: number, count: number, lo: number, hi: number): number[] {
  let s = (seed * 2654435761) >>> 0 || 1;
  const picked = new Set<number>();
  while (picked.size < Math.min(count, hi - lo + 1)) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    picked.add(lo + (s % (hi - lo + 1)));
  }
  return [...picked].sort((a, b) => a - b);
}
