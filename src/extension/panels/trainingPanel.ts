// The training panel (FaCT: Train SAE): live curves of a training run — loss, FVU, L0 and dead latents against the
// step, drawn as small inline SVG charts — with its progress, Cancel while it runs, Resume once it was cancelled
// (training starts again with resume: true and continues the curves), and Evaluate once it finished. One panel per
// checkpoint folder; it outlives nothing (the job does), and shows the saved curves after a window reload.
import * as path from 'node:path';
import { checkpointFiles } from '../../core/sae/saeFolder';
import * as vscode from 'vscode';
import {
  trainingHostMessageSchema,
  trainingPanelStateSchema,
  trainingWebviewMessageSchema,
  type TrainingHostMessage,
  type TrainingPanelState,
  type TrainingView,
  type TrainingWebviewMessage,
} from '../../../webview/shared/protocol';
import { modelDisplayName } from '../models';
import { revealPath } from '../reveal';
import type { TrainingSession } from '../sae/trainingSessions';
import type { Fact } from '../services';
import { createPanel, PanelHost, PanelRegistry, type PanelKind } from './panelHost';

export const TRAINING_PANEL_VIEW_TYPE = 'fact.training';

export const trainingPanelKind: PanelKind<TrainingHostMessage, TrainingWebviewMessage, TrainingPanelState> = {
  viewType: TRAINING_PANEL_VIEW_TYPE,
  entry: 'training',
  hostMessages: trainingHostMessageSchema,
  webviewMessages: trainingWebviewMessageSchema,
  state: trainingPanelStateSchema,
};

export function toTrainingView(fact: Fact, s: TrainingSession): TrainingView {
  const st = s.settings;
  return {
    model: st.model,
    modelName: modelDisplayName(st.model),
    features: st.features,
    out: st.out,
    outName: fact.saes.displayName(st.model, st.out),
    layer: st.layer,
    k: st.k,
    dictSize: st.dictSize,
    epochs: st.epochs ?? null,
    batchSize: st.batchSize ?? null,
    vectors: st.vectors ?? null,
    status: s.status,
    message: s.message,
    fraction: s.fraction ?? null,
    totalSteps: s.totalSteps ?? null,
    startedAt: s.startedAt ?? null,
    endedAt: s.endedAt ?? null,
    error: s.error ?? null,
    resumable: s.resumable,
    points: s.points,
    runs: s.log.runs.length,
    breaks: s.log.runs
      .slice(1)
      .map((r) => r.points[0]?.step)
      .filter((x): x is number => x !== undefined),
    seconds: s.seconds ?? null,
  };
}

export class TrainingPanel extends PanelHost<TrainingHostMessage, TrainingWebviewMessage, TrainingPanelState> {
  static readonly open = new PanelRegistry<TrainingPanel>();
  private session: TrainingSession | undefined;
  private sessionSub: { dispose(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSent = 0;
  /** How many times a view was posted (tests watch the curves grow). */
  posts = 0;

  /** Shows the training of checkpoint folder `out` (its live session, else its saved log). */
  static show(fact: Fact, out: string, opts: { preserveFocus?: boolean } = {}): TrainingPanel {
    const open = TrainingPanel.open.get(out);
    if (open) {
      open.attach();
      open.panel.reveal(open.panel.viewColumn ?? vscode.ViewColumn.Beside, opts.preserveFocus ?? true);
      return open;
    }
    return new TrainingPanel(
      createPanel(fact.extensionUri, TRAINING_PANEL_VIEW_TYPE, titleFor(out), { preserveFocus: opts.preserveFocus ?? true }),
      fact,
      out,
    );
  }

  static revive(fact: Fact, panel: vscode.WebviewPanel, state: TrainingPanelState): TrainingPanel {
    TrainingPanel.open.get(state.out)?.dispose();
    return new TrainingPanel(panel, fact, state.out);
  }

  private constructor(
    panel: vscode.WebviewPanel,
    fact: Fact,
    readonly out: string,
  ) {
    super(panel, fact, trainingPanelKind, titleFor(out));
    TrainingPanel.open.add(out, this);
    this.disposables.push({
      dispose: () => {
        this.sessionSub?.dispose();
        if (this.timer) clearTimeout(this.timer);
      },
    });
    this.disposables.push(
      fact.training.onDidCreate((s) => {
        if (s.settings.out === out) this.attach();
      }),
    );
    this.attach();
  }

  get currentView(): TrainingView | undefined {
    return this.session ? toTrainingView(this.fact, this.session) : undefined;
  }

  /** Follows the live session of the folder (or reads its saved log). */
  private attach(): void {
    const live = this.fact.training.get(this.out);
    if (live) this.follow(live);
    else {
      void this.fact.training.load(this.out).then((s) => {
        if (s) this.follow(s);
        else this.post({ type: 'error', message: `No training is known for '${this.out}' (it has no training-log.json).` });
      });
    }
  }

  private follow(s: TrainingSession): void {
    if (this.session !== s) {
      this.sessionSub?.dispose();
      this.session = s;
      this.sessionSub = s.onDidChange(() => this.schedule());
    }
    this.send();
  }

  /** At most ~5 updates a second while training reports; state changes go out at once. */
  private schedule(): void {
    const s = this.session;
    if (!s) return;
    const now = Date.now();
    if (s.status !== 'running' || now - this.lastSent > 200) {
      this.send();
      return;
    }
    if (!this.timer) this.timer = setTimeout(() => this.send(), 200 - (now - this.lastSent));
  }

  private send(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.session) return;
    this.lastSent = Date.now();
    this.posts++;
    this.post({ type: 'training', view: toTrainingView(this.fact, this.session) });
  }

  protected override async onMessage(m: TrainingWebviewMessage): Promise<void> {
    const s = this.session;
    switch (m.type) {
      case 'cancel': {
        const job = this.fact.jobs.find('train', this.out);
        if (job) this.fact.jobs.cancel(job.id);
        break;
      }
      case 'resume':
        if (!s) return;
        await this.fact.ui.executeCommand('fact.trainSae', { ...s.settings, resume: true });
        break;
      case 'evaluate':
        if (!s) return;
        await this.fact.ui.executeCommand('fact.evaluateSae', { model: s.settings.model, sae: this.out });
        break;
      case 'revealSae': {
        await revealPath(path.join(this.out, checkpointFiles.cfg));
        break;
      }
    }
  }
}

function titleFor(out: string): string {
  return `Training: ${path.basename(out)}`;
}
