// The training panel: live curves of an SAE's training (loss, FVU, L0, dead latents against the step; a dashed line
// where a resumed run starts), its progress and settings, Cancel while it runs, Resume once it was cancelled,
// Evaluate once it finished.
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '../shared/charts';
import type { ChartPoint } from '../shared/charts';
import { trainingHostMessageSchema, trainingPanelStateSchema, trainingWebviewMessageSchema, type TrainingView } from '../shared/protocol';
import { panelStyles } from '../shared/styles';
import { channel, getState, setState } from '../shared/vscodeApi';

const host = channel(trainingHostMessageSchema, trainingWebviewMessageSchema);

function duration(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

const STATUS: Record<string, string> = {
  running: 'Training…',
  succeeded: 'Finished',
  cancelled: 'Cancelled',
  failed: 'Failed',
  idle: 'Not running',
};

@customElement('fact-training-panel')
export class FactTrainingPanel extends LitElement {
  static override styles = [
    panelStyles,
    css`
      .status {
        font-size: 1.1em;
        margin: 0.4em 0;
        display: flex;
        gap: 8px;
        align-items: center;
        flex-wrap: wrap;
      }
      .status strong {
        font-weight: 600;
      }
      .state-running {
        color: var(--vscode-progressBar-background, var(--vscode-charts-blue));
      }
      .state-succeeded {
        color: var(--vscode-testing-iconPassed, var(--vscode-charts-green));
      }
      .state-failed {
        color: var(--vscode-errorForeground);
      }
      .state-cancelled {
        color: var(--vscode-editorWarning-foreground);
      }
      vscode-progress-bar {
        max-width: 680px;
      }
      .charts {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
        gap: 14px 18px;
        max-width: 1000px;
        margin-top: 10px;
      }
      dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 2px 14px;
        margin: 8px 0;
      }
      dt {
        color: var(--vscode-descriptionForeground);
      }
      dd {
        margin: 0;
        font-family: var(--vscode-editor-font-family);
        overflow-wrap: anywhere;
      }
      .message {
        color: var(--vscode-descriptionForeground);
        font-family: var(--vscode-editor-font-family);
        font-size: 0.92em;
      }
    `,
  ];

  @state() private view: TrainingView | undefined;
  @state() private error: string | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    void getState(trainingPanelStateSchema);
    host.onMessage((m) => {
      switch (m.type) {
        case 'training':
          this.view = m.view;
          this.error = undefined;
          setState({ out: m.view.out });
          break;
        case 'error':
          this.error = m.message;
          break;
        case 'jobs':
          break;
      }
    });
    host.post({ type: 'ready' });
  }

  override render(): TemplateResult {
    const v = this.view;
    if (this.error && !v)
      return html`<h1>SAE training</h1>
        <div class="error" id="training-error" role="alert">${this.error}</div>`;
    if (!v) return html`<p class="meta"><vscode-progress-ring></vscode-progress-ring> Reading the training…</p>`;
    const running = v.status === 'running';
    const pts = v.points;
    const series = (f: (p: TrainingView['points'][number]) => number): ChartPoint[] => pts.map((p) => ({ x: p.step, y: f(p) }));
    const breaks = v.breaks;
    const last = pts.at(-1);
    const pct = v.fraction !== null ? Math.round(v.fraction * 100) : null;
    return html` <header>
        <h1 id="training-title">Training SAE <code>${v.outName}</code></h1>
        <div class="toolbar" role="toolbar" aria-label="Training actions">
          ${running ? html`<vscode-button id="training-cancel" @click=${() => host.post({ type: 'cancel' })}>Cancel</vscode-button>` : nothing}
          ${!running && v.resumable ? html`<vscode-button id="training-resume" @click=${() => host.post({ type: 'resume' })}>Resume</vscode-button>` : nothing}
          ${v.status === 'succeeded' ? html`<vscode-button id="training-evaluate" @click=${() => host.post({ type: 'evaluate' })}>Evaluate</vscode-button>` : nothing}
          <vscode-button secondary @click=${() => host.post({ type: 'revealSae' })}>Reveal Checkpoint</vscode-button>
        </div>
      </header>
      <p class="meta" id="training-meta">
        ${v.modelName} · layer <code>${v.layer}</code> · k ${v.k} · ${v.dictSize.toLocaleString('en-US')}
        concepts${v.epochs !== null ? ` · ${v.epochs} epochs` : ''}${v.batchSize !== null ? ` · batch ${v.batchSize}` : ''}${v.vectors !== null ? ` · ${v.vectors.toLocaleString('en-US')} feature vectors` : ''}
      </p>
      <div class="status" id="training-status" role="status" aria-live="polite">
        <strong class=${`state-${v.status}`} id="training-state" data-state=${v.status}>${STATUS[v.status] ?? v.status}</strong>
        ${last ? html`<span>step ${last.step.toLocaleString('en-US')}${v.totalSteps !== null ? ` of ${v.totalSteps.toLocaleString('en-US')}` : ''} · epoch ${last.epoch + 1}</span>` : nothing}
        ${pct !== null ? html`<span>${pct} %</span>` : nothing}
        ${running && last?.etaSeconds != null ? html`<span>· about ${duration(last.etaSeconds)} left</span>` : nothing}
        ${last ? html`<span class="meta">· ${Math.round(last.vectorsPerSecond).toLocaleString('en-US')} vectors/s</span>` : nothing}
        ${v.runs > 1 ? html`<span class="meta">· run ${v.runs} (resumed)</span>` : nothing}
      </div>
      ${running ? (pct !== null ? html`<vscode-progress-bar .value=${pct} max="100" aria-label=${`Training ${pct} %`}></vscode-progress-bar>` : html`<vscode-progress-bar indeterminate></vscode-progress-bar>`) : nothing}
      ${v.error ? html`<div class="error" role="alert">${v.error}</div>` : v.message && v.message !== STATUS[v.status] ? html`<p class="message" id="training-message">${v.message}</p>` : nothing}
      <section class="charts" id="training-charts" aria-label="Training curves">
        <fact-line-chart label="Loss" tone="loss" .points=${series((p) => p.loss)} .breaks=${breaks}></fact-line-chart>
        <fact-line-chart
          label="FVU (fraction of variance unexplained)"
          tone="fvu"
          fromZero
          .points=${series((p) => p.fvu)}
          .breaks=${breaks}
          .format=${(x: number) => x.toFixed(4)}
        ></fact-line-chart>
        <fact-line-chart
          label="L0 (active concepts per vector)"
          tone="l0"
          fromZero
          .points=${series((p) => p.l0)}
          .breaks=${breaks}
          .format=${(x: number) => x.toFixed(2)}
        ></fact-line-chart>
        <fact-line-chart
          label="Dead latents"
          tone="dead"
          fromZero
          .points=${series((p) => p.dead)}
          .breaks=${breaks}
          .format=${(x: number) => `${Math.round(x)} of ${v.dictSize}`}
        ></fact-line-chart>
      </section>
      ${
        pts.some((p) => p.validation !== null)
          ? html`<p class="meta" id="training-validation">
              Validation (accuracy with the SAE):
              ${pts
                .filter((p) => p.validation !== null)
                .map((p) => `${(100 * p.validation!).toFixed(1)} %`)
                .join(' → ')}
            </p>`
          : nothing
      }
      <h2>Files</h2>
      <dl>
        <dt>Features</dt>
        <dd>${v.features}</dd>
        <dt>Checkpoint</dt>
        <dd id="training-out">${v.out}</dd>
        ${
          v.seconds !== null
            ? html`<dt>Training time</dt>
                <dd>${duration(v.seconds)}</dd>`
            : nothing
        }
      </dl>`;
  }
}
