// The "Open Model" panel: a model's inputs, outputs, candidate SAE layers (each with "Collect features") and op
// counts, plus the jobs running on the model.
import { LitElement, html, nothing, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '../shared/jobs';
import { modelHostMessageSchema, modelPanelStateSchema, modelWebviewMessageSchema, type JobView, type ModelView } from '../shared/protocol';
import { panelStyles } from '../shared/styles';
import { channel, getState, setState } from '../shared/vscodeApi';

const host = channel(modelHostMessageSchema, modelWebviewMessageSchema);

@customElement('fact-model-panel')
export class FactModelPanel extends LitElement {
  static override styles = panelStyles;
  @state() private model: ModelView | undefined;
  @state() private loading: string | undefined = getState(modelPanelStateSchema)?.file;
  @state() private error: string | undefined;
  @state() private jobs: JobView[] = [];

  override connectedCallback(): void {
    super.connectedCallback();
    host.onMessage((m) => {
      switch (m.type) {
        case 'loading':
          this.loading = m.file;
          this.error = undefined;
          setState({ file: m.file });
          break;
        case 'error':
          this.loading = undefined;
          this.error = m.message;
          break;
        case 'model':
          this.loading = undefined;
          this.error = undefined;
          this.model = m.model;
          setState({ file: m.model.file });
          break;
        case 'jobs':
          this.jobs = m.jobs;
          break;
      }
    });
    host.post({ type: 'ready' });
  }

  override render(): TemplateResult {
    const jobs = html`<fact-jobs .jobs=${this.jobs} .onCancel=${(id: number) => host.post({ type: 'cancelJob', id })}></fact-jobs>`;
    if (this.error)
      return html`<div class="error" id="model-error" role="alert">${this.error}</div>
        <div class="toolbar"><vscode-button secondary @click=${() => host.post({ type: 'reload' })}>Try Again</vscode-button></div>`;
    if (!this.model) return html`<p class="meta"><vscode-progress-ring></vscode-progress-ring> Reading ${this.loading ?? 'the model'}…</p>`;
    const m = this.model;
    const busy = new Set(this.jobs.filter((j) => j.kind === 'collect').map((j) => j.target.slice(j.target.lastIndexOf('#') + 1)));
    return html`
      <h1 id="model-name">${m.name}</h1>
      <p class="meta mono" id="model-file">${m.file}</p>
      <p class="meta">
        ${m.producer || 'unknown producer'} · opset ${m.opset} · ${m.nodeCount} nodes · ${m.parameterCount.toLocaleString('en-US')}
        parameters · ${m.hasCard ? 'model card found' : 'no model card'}
      </p>
      <div class="toolbar">
        <vscode-button @click=${() => host.post({ type: 'explainImage' })}>Explain an Image…</vscode-button>
        <vscode-button secondary @click=${() => host.post({ type: 'revealModel' })}>Reveal in Explorer</vscode-button>
        <vscode-button secondary @click=${() => host.post({ type: 'copyText', text: m.sha256 })}>Copy SHA-256</vscode-button>
        <vscode-button secondary @click=${() => host.post({ type: 'reload' })}>Reload</vscode-button>
      </div>
      ${jobs}
      <h2>Inputs</h2>
      ${this.tensorTable('model-inputs', m.inputs, m.imageInput.name)}
      <p class="meta">
        Image input <code>${m.imageInput.name}</code>: ${m.imageInput.channels} channels, ${m.imageInput.colorSpace},
        ${m.imageInput.encoding === 'encoded' ? 'B-cos [x, 1−x] encoded' : 'raw pixels'}.
      </p>
      <h2>Outputs</h2>
      ${this.tensorTable('model-outputs', m.outputs)}
      ${m.classes ? html`<p class="meta" id="model-classes">${m.classes.length} classes: ${m.classes.join(', ')}</p>` : nothing}
      <h2>Candidate layers for an SAE</h2>
      <table id="model-layers" aria-label="Candidate layers">
        <thead>
          <tr>
            <th scope="col">Layer</th>
            <th scope="col">Shape</th>
            <th scope="col">Tensor</th>
            <th scope="col"></th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${m.layers.map(
            (l) =>
              html`<tr data-layer=${l.label}>
                <td>
                  <code>${l.label}</code>${l.aliases.length ? html`<span class="meta"> (also ${l.aliases.join(', ')})</span>` : nothing}
                </td>
                <td class="mono">${l.shape}</td>
                <td class="mono meta">${l.tensor}</td>
                <td>${l.recommended ? html`<vscode-badge>card</vscode-badge>` : nothing}</td>
                <td>
                  <button
                    class="link-button"
                    ?disabled=${busy.has(l.label)}
                    @click=${() => host.post({ type: 'collectFeatures', layer: l.label })}
                    aria-label=${`Collect features of ${l.label}`}
                  >
                    ${busy.has(l.label) ? 'collecting…' : 'Collect features'}
                  </button>
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${m.layers.length === 0 ? html`<p class="meta">No block boundaries with spatial or token features were found.</p>` : nothing}
      <h2>Operators</h2>
      <div class="ops" id="model-ops">${m.opCounts.map((o) => html`<span><code>${o.op}</code> × ${o.count}</span>`)}</div>
    `;
  }

  private tensorTable(id: string, rows: ModelView['inputs'], image?: string): TemplateResult {
    return html`<table id=${id}>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Shape</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (t) =>
            html`<tr data-name=${t.name}>
              <td><code>${t.name}</code>${t.name === image ? html` <vscode-badge>image</vscode-badge>` : nothing}</td>
              <td class="mono">${t.dtype}</td>
              <td class="mono">${t.shape}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
  }
}
