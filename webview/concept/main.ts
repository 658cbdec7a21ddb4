// The concept panel: one concept of an SAE — its top 16 dataset images with their traces (cut from the atlas strip
// with CSS, set through the CSSOM: the page's CSP forbids style attributes), how often it is present, its mean
// presence and contribution, its C² score against random traces, and the classes it contributes to.
import { LitElement, css, html, nothing, svg, type PropertyValues, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '../shared/jobs';
import { formatFixed, formatPercent, formatSig } from '../../common/format';
import {
  conceptHostMessageSchema,
  conceptPanelStateSchema,
  conceptWebviewMessageSchema,
  type ConceptView,
  type JobView,
} from '../shared/protocol';
import { panelStyles, statCardStyles } from '../shared/styles';
import { channel, getState, setState } from '../shared/vscodeApi';

const host = channel(conceptHostMessageSchema, conceptWebviewMessageSchema);

@customElement('fact-concept-panel')
export class FactConceptPanel extends LitElement {
  static override styles = [
    panelStyles,
    statCardStyles,
    css`
      .stats {
        grid-template-columns: repeat(auto-fill, minmax(11em, 1fr));
        max-width: 900px;
      }
      .good {
        color: var(--vscode-testing-iconPassed, var(--vscode-charts-green));
      }
      .classes {
        display: flex;
        flex-direction: column;
        gap: 2px;
        max-width: 640px;
      }
      .class-row {
        display: grid;
        grid-template-columns: 10em 1fr 7em;
        gap: 10px;
        align-items: center;
      }
      .track {
        width: 100%;
        height: 12px;
        display: block;
      }
      .pos {
        fill: var(--vscode-charts-red, #f14c4c);
      }
      .neg {
        fill: var(--vscode-charts-blue, #3794ff);
      }
      .num {
        font-family: var(--vscode-editor-font-family);
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      .tiles {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(104px, 1fr));
        gap: 12px 10px;
        max-width: 1000px;
      }
      .tile {
        margin: 0;
      }
      .tile .pair {
        width: 96px;
        border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #8884));
      }
      .tile .in,
      .tile .tr {
        width: 96px;
        height: 96px;
        background-repeat: no-repeat;
        image-rendering: pixelated;
      }
      .tile .tr {
        background-color: #000;
      }
      .tile figcaption {
        font-size: 0.85em;
        color: var(--vscode-descriptionForeground);
        margin-top: 3px;
        line-height: 1.3;
        width: 100px;
      }
      .tile figcaption strong {
        color: var(--vscode-foreground);
        font-weight: 600;
      }
      .miss {
        color: var(--vscode-editorWarning-foreground);
      }
      .busy {
        display: inline-flex;
        align-items: center;
        gap: 6px;
        color: var(--vscode-descriptionForeground);
      }
      .stale {
        opacity: 0.45;
        transition: opacity 120ms;
      }
    `,
  ];

  @state() private view: ConceptView | undefined;
  @state() private loading: { saeName: string; concept: number } | undefined;
  @state() private error: { message: string; evaluate: boolean } | undefined;
  @state() private jobs: JobView[] = [];

  override connectedCallback(): void {
    super.connectedCallback();
    const saved = getState(conceptPanelStateSchema);
    if (saved) this.loading = { saeName: '', concept: saved.concept };
    host.onMessage((m) => {
      switch (m.type) {
        case 'loading':
          this.loading = { saeName: m.saeName, concept: m.concept };
          this.error = undefined;
          setState({ model: m.model, sae: m.sae, concept: m.concept });
          break;
        case 'concept':
          this.loading = undefined;
          this.error = undefined;
          this.view = m.view;
          setState({ model: m.view.model, sae: m.view.sae, concept: m.view.concept });
          break;
        case 'error':
          this.loading = undefined;
          this.error = { message: m.message, evaluate: m.evaluate };
          break;
        case 'jobs':
          this.jobs = m.jobs;
          break;
      }
    });
    host.post({ type: 'ready' });
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    const v = this.view;
    if (!v?.strip) return;
    const n = v.top.length;
    for (const el of this.renderRoot.querySelectorAll<HTMLElement>('[data-tile]')) {
      const i = Number(el.dataset.tile);
      const row = el.dataset.row === 'trace' ? 100 : 0;
      el.style.backgroundImage = `url("${v.strip}")`;
      el.style.backgroundSize = `${n * 100}% 200%`;
      el.style.backgroundPosition = `${n > 1 ? (i / (n - 1)) * 100 : 0}% ${row}%`;
    }
  }

  override render(): TemplateResult {
    const v = this.view;
    const l = this.loading;
    const jobs = html`<fact-jobs .jobs=${this.jobs} .onCancel=${(id: number) => host.post({ type: 'cancelJob', id })}></fact-jobs>`;
    const title = l ? `Concept ${l.concept}` : v ? `Concept ${v.concept}` : 'Concept';
    const header = html`<header>
      <h1 id="concept-title">${title}</h1>
      <div class="toolbar" role="toolbar" aria-label="Concept actions">
        <vscode-button
          secondary
          id="previous"
          ?disabled=${!v || v.previous === null || !!l}
          @click=${() => v?.previous !== null && v && host.post({ type: 'showConcept', concept: v.previous! })}
          title="The concept before this one by mean contribution"
          >◀ Previous</vscode-button
        >
        <vscode-button
          secondary
          id="next"
          ?disabled=${!v || v.next === null || !!l}
          @click=${() => v?.next !== null && v && host.post({ type: 'showConcept', concept: v.next! })}
          title="The concept after this one by mean contribution"
          >Next ▶</vscode-button
        >
        <vscode-button secondary @click=${() => host.post({ type: 'pickConcept' })}>Choose Concept…</vscode-button>
        <vscode-button secondary @click=${() => host.post({ type: 'openConsistency' })}>Consistency (C²)</vscode-button>
        <vscode-button secondary @click=${() => host.post({ type: 'revealSae' })}>Reveal SAE</vscode-button>
      </div>
    </header>`;
    if (this.error) {
      return html`${header}${jobs}
        <div class="error" id="concept-error" role="alert">${this.error.message}</div>
        ${this.error.evaluate ? html`<div class="toolbar"><vscode-button @click=${() => host.post({ type: 'evaluate' })}>Evaluate SAE</vscode-button></div>` : nothing}`;
    }
    if (!v) {
      return html`${header}${jobs}
        <p class="busy" role="status">
          <vscode-progress-ring></vscode-progress-ring> Reading concept
          ${l?.concept ?? ''}${l?.saeName ? html` of SAE <code>${l.saeName}</code>` : nothing}…
        </p>`;
    }
    const stale = l ? 'stale' : '';
    return html`${header}
      <p class="meta" id="concept-meta">
        SAE <code>${v.saeName}</code>${v.layer ? html` on layer <code>${v.layer}</code>` : nothing} ·
        ${v.modelName}${v.rank !== null && v.alive !== null ? html` · <span id="concept-rank">#${v.rank} of ${v.alive} concepts by mean contribution</span>` : nothing}
        ${l ? html` · <span class="busy"><vscode-progress-ring></vscode-progress-ring> concept ${l.concept}…</span>` : nothing}
      </p>
      ${jobs}
      <section class="stats ${stale}" id="concept-stats" aria-label="Statistics">
        <div class="stat">
          <div class="k">Present in</div>
          <div class="v" id="stat-frequency">${formatPercent(v.frequency)}</div>
          <div class="sub">
            ${v.images.toLocaleString('en-US')}${v.imagesEvaluated !== null ? ` of ${v.imagesEvaluated.toLocaleString('en-US')}` : ''}
            images
          </div>
        </div>
        <div class="stat">
          <div class="k">Mean presence</div>
          <div class="v" id="stat-presence">${formatSig(v.meanPresence)}</div>
          <div class="sub">when present</div>
        </div>
        <div class="stat">
          <div class="k">Mean contribution</div>
          <div class="v" id="stat-contribution">${formatSig(v.meanContribution)}</div>
          <div class="sub">to the predicted logit</div>
        </div>
        <div class="stat">
          <div class="k">C² consistency</div>
          <div class="v" id="stat-c2">${v.c2 !== null ? v.c2.toFixed(3) : '—'}</div>
          <div class="sub" id="stat-c2-random">
            ${v.c2 !== null && v.c2Random !== null ? html`random traces ${formatFixed(v.c2Random, 3)} · <span class=${v.c2 > v.c2Random ? 'good' : 'miss'}>Δ ${v.c2 - v.c2Random >= 0 ? '+' : '−'}${Math.abs(v.c2 - v.c2Random).toFixed(3)}</span>` : 'not measured (FaCT: Measure Consistency)'}
          </div>
        </div>
      </section>
      <h2>Contributes to</h2>
      ${this.classes(v)}
      <h2>Top ${v.top.length} images</h2>
      <p class="meta">The dataset images this concept is most present in: each input above, the concept's trace (on black) below.</p>
      ${
        v.strip
          ? html`<div class="tiles ${stale}" id="concept-tiles">
              ${v.top.map(
                (t, i) =>
                  html`<figure class="tile" data-image=${t.image}>
                    <div class="pair" title=${`Image ${t.image}: labelled ${t.label}, predicted ${t.predicted}`}>
                      <div
                        class="in"
                        data-tile=${i}
                        data-row="input"
                        role="img"
                        aria-label=${`Dataset image ${t.image} (${t.label})`}
                      ></div>
                      <div
                        class="tr"
                        data-tile=${i}
                        data-row="trace"
                        role="img"
                        aria-label=${`Trace of concept ${v.concept} on image ${t.image}`}
                      ></div>
                    </div>
                    <figcaption>
                      <strong class="label">${t.label}</strong
                      >${t.predicted !== t.label ? html` <span class="miss">(pred. ${t.predicted})</span>` : nothing}<br />#${t.image} ·
                      presence ${formatSig(t.presence)}
                    </figcaption>
                  </figure>`,
              )}
            </div>`
          : html`<p class="meta">This concept has no top images (it was never present in the evaluated images).</p>`
      }`;
  }

  private classes(v: ConceptView): TemplateResult {
    if (v.classes.length === 0) return html`<p class="meta">No class: the concept was never present.</p>`;
    const max = Math.max(...v.classes.map((c) => Math.abs(c.contribution)), 1e-12);
    return html`<div class="classes" id="concept-classes">
      ${v.classes.map(
        (c) =>
          html`<div class="class-row" data-class=${c.index}>
            <span class="class-name">${c.name}</span>
            <svg class="track" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
              ${svg`<rect class=${c.contribution >= 0 ? 'pos' : 'neg'} x="0" y="1" width=${Math.max(0.5, (Math.abs(c.contribution) / max) * 100)} height="8"></rect>`}
            </svg>
            <span class="num" title="Σ contribution over the images predicted as this class">${formatSig(c.contribution)}</span>
          </div>`,
      )}
    </div>`;
  }
}
