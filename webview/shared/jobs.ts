// <fact-jobs>: the running jobs a panel cares about (live progress from the host's job runner), each cancellable.
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { JobView } from './protocol';

@customElement('fact-jobs')
export class FactJobs extends LitElement {
  static override styles = css`
    :host {
      display: block;
    }
    .job {
      display: grid;
      grid-template-columns: 1fr auto;
      gap: 2px 12px;
      align-items: center;
      padding: 6px 8px;
      margin: 6px 0;
      border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, transparent));
      border-radius: 2px;
    }
    .title {
      font-weight: 600;
    }
    .message {
      color: var(--vscode-descriptionForeground);
      grid-column: 1;
    }
    vscode-progress-bar {
      grid-column: 1 / span 2;
    }
  `;
  @property({ attribute: false }) jobs: JobView[] = [];
  /** Called with a job id when its Cancel button is pressed. */
  @property({ attribute: false }) onCancel: (id: number) => void = () => undefined;

  override render(): TemplateResult | typeof nothing {
    if (this.jobs.length === 0) return nothing;
    return html`<section aria-label="Running jobs" aria-live="polite">
      ${this.jobs.map(
        (j) =>
          html`<div class="job" data-job=${j.id}>
            <span class="title">${j.title}</span>
            <vscode-button secondary @click=${() => this.onCancel(j.id)} aria-label=${`Cancel: ${j.title}`}>Cancel</vscode-button>
            <span class="message">${j.message}${j.fraction !== null ? ` (${Math.round(j.fraction * 100)} %)` : ''}</span>
            ${j.fraction !== null ? html`<vscode-progress-bar .value=${j.fraction * 100} max="100" aria-label=${`${j.title}: ${Math.round(j.fraction * 100)} %`}></vscode-progress-bar>` : html`<vscode-progress-bar indeterminate></vscode-progress-bar>`}
          </div>`,
      )}
    </section>`;
  }
}
