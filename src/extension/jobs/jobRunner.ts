// Long jobs (feature collection, SAE training, evaluation, the concept atlas, C² consistency): each runs once per kind and
// target, shows cancellable progress, logs to the "FaCT" channel, and outlives the panel or command that started it.
// Panels subscribe to `onDidChange` for live progress. The editor parts come in through `JobHost`, so this module
// never imports `vscode`.
import { isFactError } from '../../core/errors';
import { Emitter } from '../util/emitter';

export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobInfo {
  readonly id: number;
  /** What the job does: 'collect', 'train', 'evaluate', 'concepts', 'consistency'. */
  readonly kind: string;
  /** What it works on, e.g. `<model file>#<layer>`; one running job per (kind, target). */
  readonly target: string;
  readonly title: string;
  message: string;
  /** 0…1, undefined while unknown. */
  fraction: number | undefined;
  state: JobState;
  readonly startedAt: number;
  endedAt?: number;
  error?: string;
}

export interface JobContext {
  signal: AbortSignal;
  report(message: string, fraction?: number): void;
  log(line: string): void;
}

export interface JobSpec<T> {
  kind: string;
  target: string;
  title: string;
  run(ctx: JobContext): Promise<T>;
  /** How the finished job is described in the log (default: "done"). */
  describeResult?(result: T): string;
}

/** The editor side of a job: progress UI and the log. */
export interface JobHost {
  /** Shows progress until `task` settles; `cancel` is called when the person cancels. */
  withProgress(
    title: string,
    task: (report: (message: string, fraction?: number) => void, onCancel: (cancel: () => void) => void) => Promise<void>,
  ): void;
  log: { info(line: string): void; warn(line: string): void; error(line: string): void };
  /** Tells the person why a job was not started. */
  refuse(message: string): void;
}

export type StartResult<T> = { started: true; job: JobInfo; result: Promise<T> } | { started: false; running: JobInfo; message: string };

export class JobRunner {
  private nextId = 1;
  private readonly running = new Map<string, { info: JobInfo; abort: AbortController }>();
  private readonly changed = new Emitter<JobInfo>();
  /** Fires on start, on each progress report and when a job ends. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly host: JobHost,
    private readonly now: () => number = Date.now,
  ) {}

  static key(kind: string, target: string): string {
    return `${kind}\u0000${target}`;
  }

  /** The running jobs, oldest first. */
  list(): JobInfo[] {
    return [...this.running.values()].map((r) => r.info).sort((a, b) => a.id - b.id);
  }

  find(kind: string, target: string): JobInfo | undefined {
    return this.running.get(JobRunner.key(kind, target))?.info;
  }

  start<T>(spec: JobSpec<T>): StartResult<T> {
    const key = JobRunner.key(spec.kind, spec.target);
    const busy = this.running.get(key);
    if (busy) {
      const pct = busy.info.fraction !== undefined ? `, ${Math.round(busy.info.fraction * 100)} % done` : '';
      const message = `FaCT is already ${lowerFirst(busy.info.title)} (started ${ago(this.now() - busy.info.startedAt)}${pct}). Wait for it to finish or cancel it first.`;
      this.host.log.warn(`Refused a second copy of job #${busy.info.id}: ${spec.title}.`);
      this.host.refuse(message);
      return { started: false, running: busy.info, message };
    }
    const abort = new AbortController();
    const info: JobInfo = {
      id: this.nextId++,
      kind: spec.kind,
      target: spec.target,
      title: spec.title,
      message: 'Starting…',
      fraction: undefined,
      state: 'running',
      startedAt: this.now(),
    };
    this.running.set(key, { info, abort });
    this.host.log.info(`Job #${info.id} started: ${spec.title}.`);
    this.changed.fire(info);

    let lastLogged = -1;
    const report = (message: string, fraction?: number) => {
      if (info.state !== 'running') return;
      info.message = message;
      info.fraction = fraction === undefined || !Number.isFinite(fraction) ? info.fraction : Math.min(1, Math.max(0, fraction));
      // Log about every tenth of the way, not every report.
      const decile = info.fraction === undefined ? -1 : Math.floor(info.fraction * 10);
      if (decile > lastLogged) {
        lastLogged = decile;
        this.host.log.info(`Job #${info.id}: ${message}`);
      }
      this.changed.fire(info);
    };

    const result = new Promise<T>((resolve, reject) => {
      this.host.withProgress(spec.title, async (progress, onCancel) => {
        onCancel(() => this.cancel(info.id));
        const forward = (message: string, fraction?: number) => {
          report(message, fraction);
          progress(message, info.fraction);
        };
        try {
          const value = await spec.run({
            signal: abort.signal,
            report: forward,
            log: (line) => this.host.log.info(`Job #${info.id}: ${line}`),
          });
          this.finish(key, info, 'succeeded');
          this.host.log.info(`Job #${info.id} finished in ${seconds(info)}: ${spec.describeResult ? spec.describeResult(value) : 'done'}.`);
          resolve(value);
        } catch (e) {
          const cancelled = abort.signal.aborted || (isFactError(e) && e.code === 'cancelled');
          info.error = (e as Error).message;
          this.finish(key, info, cancelled ? 'cancelled' : 'failed');
          if (cancelled) this.host.log.info(`Job #${info.id} cancelled after ${seconds(info)}.`);
          else this.host.log.error(`Job #${info.id} failed after ${seconds(info)}: ${(e as Error).stack ?? info.error}`);
          reject(e);
        }
      });
    });
    // The caller may not await the result; an unhandled rejection must not crash anything (it was logged above).
    result.catch(() => undefined);
    return { started: true, job: info, result };
  }

  /** Cancels a running job; true when there was one. */
  cancel(id: number): boolean {
    for (const r of this.running.values()) {
      if (r.info.id === id) {
        if (!r.abort.signal.aborted) {
          this.host.log.info(`Job #${id}: cancelling…`);
          r.abort.abort();
        }
        return true;
      }
    }
    return false;
  }

  private finish(key: string, info: JobInfo, state: JobState): void {
    info.state = state;
    info.endedAt = this.now();
    if (state === 'succeeded') info.fraction = 1;
    this.running.delete(key);
    this.changed.fire(info);
  }

  /** Cancels everything (the extension is shutting down). */
  dispose(): void {
    for (const r of this.running.values()) r.abort.abort();
    this.changed.dispose();
  }
}

function seconds(info: JobInfo): string {
  return `${(((info.endedAt ?? Date.now()) - info.startedAt) / 1000).toFixed(1)} s`;
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
