// SAE training runs as the training panel shows them: per checkpoint folder, the settings, the state of the current
// run (running, succeeded, failed, cancelled) and the curves of every run so far — a resumed run continues them. The
// curves are saved beside the checkpoint (training-log.json) when a run ends, so they survive a window reload and
// the tree can show the final FVU. No `vscode` import.
import { existsSync, watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import type { ProgressData } from '../../core/jobs/callContext';
import { checkpointFiles } from '../../core/sae/saeFolder';
import { Emitter } from '../util/emitter';
import { readTrainingLog, writeTrainingLog, type TrainingLog, type TrainPoint, type TrainRunLog } from './saeFiles';

export interface TrainSettingsChosen {
  model: string;
  features: string;
  out: string;
  layer: string;
  k: number;
  dictSize: number;
  epochs?: number;
  batchSize?: number;
  vectors?: number;
}

export type SessionStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'idle';

export class TrainingSession {
  status: SessionStatus = 'idle';
  message = '';
  fraction: number | undefined;
  totalSteps: number | undefined;
  startedAt: number | undefined;
  endedAt: number | undefined;
  error: string | undefined;
  jobId: number | undefined;
  seconds: number | undefined;
  private readonly changed = new Emitter<TrainingSession>();
  readonly onDidChange = this.changed.event;
  private stateWatcher: FSWatcher | undefined;

  constructor(
    public settings: TrainSettingsChosen,
    public log: TrainingLog,
  ) {}

  get points(): TrainPoint[] {
    return this.log.runs.flatMap((r) => r.points);
  }

  get current(): TrainRunLog | undefined {
    return this.log.runs.at(-1);
  }

  /** A run whose state was saved (cancelled or failed mid-way): it can resume. */
  get resumable(): boolean {
    return this.status !== 'running' && existsSync(path.join(this.settings.out, checkpointFiles.trainStateJson));
  }

  begin(resumed: boolean, now = Date.now()): void {
    this.stopWatchingState();
    this.status = 'running';
    this.message = resumed ? 'Resuming…' : 'Starting…';
    this.error = undefined;
    this.startedAt = now;
    this.endedAt = undefined;
    this.fraction = undefined;
    this.log.runs.push({ startedAt: new Date(now).toISOString(), state: 'running', resumed, points: [] });
    this.changed.fire(this);
  }

  progress(message: string, fraction: number | undefined, data: ProgressData | undefined): void {
    this.message = message;
    if (fraction !== undefined && Number.isFinite(fraction)) this.fraction = fraction;
    if (data?.kind === 'train') {
      this.totalSteps = data.totalSteps;
      const run = this.current;
      run?.points.push({
        step: data.step,
        epoch: data.epoch,
        loss: data.loss,
        fvu: data.fvu,
        l0: data.l0,
        dead: data.dead,
        lr: data.lr,
        vectorsPerSecond: data.vectorsPerSecond,
        etaSeconds: Number.isFinite(data.etaSeconds) ? data.etaSeconds : null,
        validation: data.validation ?? null,
      });
    }
    this.changed.fire(this);
  }

  async end(
    state: 'succeeded' | 'failed' | 'cancelled',
    detail: { error?: string; seconds?: number } = {},
    now = Date.now(),
  ): Promise<void> {
    this.status = state;
    this.endedAt = now;
    this.error = detail.error;
    if (detail.seconds !== undefined) this.seconds = detail.seconds;
    if (state === 'succeeded') this.fraction = 1;
    this.message = state === 'succeeded' ? 'Finished' : state === 'cancelled' ? this.cancelledMessage() : `Failed: ${detail.error ?? ''}`;
    const run = this.current;
    if (run) {
      run.state = state;
      run.endedAt = new Date(now).toISOString();
      if (detail.error) run.error = detail.error;
    }
    await writeTrainingLog(this.settings.out, this.log).catch(() => undefined);
    this.changed.fire(this);
    if (state !== 'succeeded') this.watchForState();
  }

  /** Only a state on disk lets Resume continue: until the stopping worker has saved it, the panel says so. */
  private cancelledMessage(): string {
    return this.resumable ? 'Cancelled: the state is saved, Resume continues it.' : 'Cancelled: saving the training state…';
  }

  /** The state landed: a cancelled run now says so (a failed one keeps its error). */
  private stateLanded(): void {
    this.stopWatchingState();
    if (this.status === 'cancelled') this.message = this.cancelledMessage();
    this.changed.fire(this);
  }

  /**
   * The worker saves the training state as it stops, which can be after the cancel (or failure) reached us: once the
   * state is on disk the session becomes resumable, and its watchers hear of it (the panel then offers Resume).
   */
  private watchForState(): void {
    this.stopWatchingState();
    if (this.resumable || !existsSync(this.settings.out)) return;
    try {
      this.stateWatcher = watch(this.settings.out, () => {
        if (this.resumable) this.stateLanded();
      });
    } catch {
      return;
    }
    // The state may have landed while the watcher was being set up.
    if (this.resumable) this.stateLanded();
  }

  private stopWatchingState(): void {
    this.stateWatcher?.close();
    this.stateWatcher = undefined;
  }

  dispose(): void {
    this.stopWatchingState();
    this.changed.dispose();
  }
}

export class TrainingSessions {
  private readonly sessions = new Map<string, TrainingSession>();
  private readonly created = new Emitter<TrainingSession>();
  readonly onDidCreate = this.created.event;

  get(out: string): TrainingSession | undefined {
    return this.sessions.get(out);
  }

  /** The session of `settings.out`, made (or re-made with new settings) for a new run. */
  forRun(settings: TrainSettingsChosen, previous: TrainingLog | undefined): TrainingSession {
    let s = this.sessions.get(settings.out);
    if (s) {
      s.settings = settings;
      return s;
    }
    const log: TrainingLog =
      previous && previous.k === settings.k && previous.dictSize === settings.dictSize
        ? previous
        : {
            format: 1,
            model: settings.model,
            features: settings.features,
            layer: settings.layer,
            k: settings.k,
            dictSize: settings.dictSize,
            runs: [],
          };
    if (settings.epochs !== undefined) log.epochs = settings.epochs;
    if (settings.batchSize !== undefined) log.batchSize = settings.batchSize;
    s = new TrainingSession(settings, log);
    this.sessions.set(settings.out, s);
    this.created.fire(s);
    return s;
  }

  /** A session for a checkpoint folder from its training log (nothing running), e.g. after a window reload. */
  async load(out: string): Promise<TrainingSession | undefined> {
    const live = this.sessions.get(out);
    if (live) return live;
    const log = await readTrainingLog(out);
    if (!log) return undefined;
    const s = new TrainingSession(
      {
        model: log.model,
        features: log.features,
        out,
        layer: log.layer,
        k: log.k,
        dictSize: log.dictSize,
        ...(log.epochs !== undefined ? { epochs: log.epochs } : {}),
        ...(log.batchSize !== undefined ? { batchSize: log.batchSize } : {}),
      },
      log,
    );
    const last = log.runs.at(-1);
    s.status = !last ? 'idle' : last.state === 'running' ? 'cancelled' : last.state;
    s.message =
      last?.state === 'running'
        ? 'Interrupted (the window closed while it ran).'
        : last?.state === 'cancelled'
          ? s.resumable
            ? 'Cancelled: the state is saved, Resume continues it.'
            : 'Cancelled before a state was saved: training again starts afresh.'
          : last?.state === 'failed'
            ? `Failed: ${last.error ?? ''}`
            : last
              ? 'Finished'
              : '';
    if (last?.state === 'succeeded') s.fraction = 1;
    s.totalSteps = undefined;
    this.sessions.set(out, s);
    return s;
  }

  all(): TrainingSession[] {
    return [...this.sessions.values()];
  }

  dispose(): void {
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
    this.created.dispose();
  }
}
