// The explain panel's concept slots: what the explained logit is made of through the model's SAE.
//   <fact-concept-bars>    the concepts' contributions (positive and negative, with shares, "other concepts"), the
//                          completeness line Σ c_k + bias = logit, and the full logit's explanation through the SAE;
//   <fact-concept-traces>  each top concept's trace on this image, beside a strip of its top-activating dataset
//                          images (from the SAE's concept atlas). Clicking a concept opens the concept panel.
// Without an SAE they say how to get one. The layout, titles and ids stay the same in every state.
import { LitElement, css, html, nothing, svg, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import {
  barGeometry,
  conceptBarRows,
  conceptCompletenessLine,
  formatNumber,
  formatPercent,
  formatShare,
  formatSig,
} from '../../common/format';
import type { ConceptDecisionView, ConceptStripView } from '../shared/protocol';

const slotStyles = css`
  :host {
    display: block;
    margin-top: 1.2em;
  }
  h2 {
    font-size: 1.1em;
    font-weight: 600;
    margin: 0 0 0.4em;
    border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent));
    padding-bottom: 0.2em;
  }
  .empty {
    border: 1px dashed var(--vscode-widget-border, var(--vscode-descriptionForeground));
    border-radius: 2px;
    padding: 10px 12px;
    color: var(--vscode-descriptionForeground);
  }
  .empty vscode-button {
    margin-top: 8px;
    margin-right: 6px;
  }
  .meta {
    color: var(--vscode-descriptionForeground);
    margin: 0.2em 0 0.6em;
  }
  code,
  .mono,
  .num {
    font-family: var(--vscode-editor-font-family);
  }
  .num {
    font-variant-numeric: tabular-nums;
    text-align: right;
  }
  .busy {
    display: inline-flex;
    align-items: center;
    gap: 6px;
    color: var(--vscode-descriptionForeground);
  }
  .error {
    color: var(--vscode-errorForeground);
    border: 1px solid var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground));
    padding: 8px;
    white-space: pre-wrap;
  }
  .ok {
    color: var(--vscode-testing-iconPassed, var(--vscode-charts-green));
  }
  .warn {
    color: var(--vscode-editorWarning-foreground);
  }
  .link {
    background: none;
    border: none;
    padding: 0;
    color: var(--vscode-textLink-foreground);
    cursor: pointer;
    font: inherit;
  }
  .link:hover {
    color: var(--vscode-textLink-activeForeground);
    text-decoration: underline;
  }
  :focus-visible {
    outline: 1px solid var(--vscode-focusBorder);
    outline-offset: 1px;
  }
  img {
    image-rendering: pixelated;
    display: block;
  }
  .on-black {
    background: #000;
  }
`;

@customElement('fact-concept-bars')
export class FactConceptBars extends LitElement {
  static override styles = [
    slotStyles,
    css`
      .bars {
        display: flex;
        flex-direction: column;
        gap: 1px;
        max-width: 760px;
      }
      .row {
        display: grid;
        grid-template-columns: 9.5em 1fr 11.5em;
        gap: 10px;
        align-items: center;
        text-align: left;
        background: none;
        color: var(--vscode-foreground);
        border: 1px solid transparent;
        border-radius: 2px;
        padding: 2px 6px;
        font: inherit;
      }
      button.row {
        cursor: pointer;
      }
      button.row:hover {
        background: var(--vscode-list-hoverBackground);
      }
      .row.other {
        color: var(--vscode-descriptionForeground);
      }
      .track {
        width: 100%;
        height: 14px;
        display: block;
      }
      .pos {
        fill: var(--vscode-charts-red, #f14c4c);
      }
      .neg {
        fill: var(--vscode-charts-blue, #3794ff);
      }
      .rest {
        fill: var(--vscode-descriptionForeground);
        opacity: 0.55;
      }
      .zero {
        stroke: var(--vscode-foreground);
        stroke-width: 1;
        vector-effect: non-scaling-stroke;
        opacity: 0.6;
      }
      .equation {
        font-size: 1.1em;
        margin: 0.8em 0 0.2em;
      }
      .sae-classes {
        border-collapse: collapse;
        margin: 0.2em 0 0.8em;
      }
      .sae-classes th,
      .sae-classes td {
        padding: 1px 14px 1px 0;
        text-align: left;
        font-weight: normal;
      }
      .sae-classes th {
        color: var(--vscode-descriptionForeground);
      }
      .sae-classes .num {
        text-align: right;
      }
      .sae-classes tr.explained td {
        font-weight: 600;
      }
      .figures {
        display: flex;
        flex-wrap: wrap;
        gap: 16px;
        margin-top: 10px;
      }
      figure {
        margin: 0;
        width: 168px;
      }
      figure img {
        width: 168px;
        height: 168px;
        border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #8884));
        box-sizing: border-box;
      }
      figcaption {
        color: var(--vscode-descriptionForeground);
        font-size: 0.92em;
        margin-top: 4px;
        line-height: 1.35;
      }
      figcaption strong {
        color: var(--vscode-foreground);
        font-weight: 600;
      }
    `,
  ];
  /** none | loading | ready | error */
  @property() state = 'none';
  @property({ attribute: false }) view: ConceptDecisionView | undefined;
  @property({ attribute: false }) message = '';
  @property({ attribute: false }) saeName = '';
  @property({ attribute: false }) explainedClass = '';
  @property({ attribute: false }) onOpenConcept: (concept: number) => void = () => undefined;
  @property({ attribute: false }) onChooseSae: () => void = () => undefined;
  @property({ attribute: false }) onTrainSae: () => void = () => undefined;

  override render(): TemplateResult {
    return html`<section aria-labelledby="h" data-slot="concept-bars" data-state=${this.state}>
      <h2 id="h">Concept contributions</h2>
      ${this.body()}
    </section>`;
  }

  private body(): TemplateResult {
    const v = this.view;
    if (this.state === 'loading') {
      return html`<p class="busy" role="status">
        <vscode-progress-ring></vscode-progress-ring>
        ${this.saeName ? html`Explaining through SAE <code>${this.saeName}</code>…` : "Looking for this model's SAE…"}
      </p>`;
    }
    if (this.state === 'error') return html`<div class="error" id="concepts-error" role="alert">${this.message}</div>`;
    if (this.state !== 'ready' || !v) {
      return html`<div class="empty" id="concepts-empty">
        Which concepts make up the ${this.explainedClass ? html`<strong>${this.explainedClass}</strong>` : 'explained'} logit, each with its
        exact share, appears here once this model has a sparse autoencoder (SAE) for one of its layers. ${this.message}
        <div>
          <vscode-button secondary @click=${() => this.onChooseSae()}>Choose SAE…</vscode-button
          ><vscode-button secondary @click=${() => this.onTrainSae()}>Train SAE…</vscode-button>
        </div>
      </div>`;
    }
    const rows = conceptBarRows(v);
    const maxPos = Math.max(0, ...rows.map((r) => r.contribution));
    const maxNeg = Math.max(0, ...rows.map((r) => -r.contribution));
    const zero = barGeometry(0, maxPos, maxNeg).zero;
    const line = conceptCompletenessLine(v);
    const rel = v.completenessError / Math.max(1e-12, Math.abs(v.logit) + Math.abs(v.bias) + Math.abs(v.conceptSum));
    const good = rel < 1e-4;
    const top = v.top[0];
    return html` <p class="meta" id="concepts-meta">
        Through SAE <code>${v.saeName}</code>${v.layer ? html` on layer <code>${v.layer}</code>` : nothing} · ${v.active} concepts present ·
        with the SAE the model predicts
        <strong>${top?.name ?? '?'}</strong
        >${top && top.index !== v.predictedWithoutSae ? html` (without it: <strong>${v.predictedWithoutSaeName}</strong>)` : nothing} ·
        <button class="link" @click=${() => this.onChooseSae()}>Choose SAE…</button>
      </p>
      <table class="sae-classes" id="concepts-top-classes" aria-label="Top classes with the SAE, beside the model's own logits">
        <thead>
          <tr>
            <th>Class</th>
            <th class="num" title="The logit with the SAE's reconstruction in place of the layer">Logit with the SAE</th>
            <th class="num" title="The model's own logit, without the SAE">Model's own logit</th>
          </tr>
        </thead>
        <tbody>
          ${v.top.map(
            (t) =>
              html`<tr class=${t.index === v.classIndex ? 'explained' : ''} data-class-index=${t.index}>
                <td>${t.name}</td>
                <td class="num">${formatNumber(t.logit, 3)}</td>
                <td class="num">${formatNumber(t.modelLogit, 3)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      <div class="bars" id="concept-bars" role="list" aria-label=${`Concept contributions to the ${v.className} logit`}>
        ${rows.map((r) => {
          const g = barGeometry(r.contribution, maxPos, maxNeg);
          const bar = html`<span class="label">${r.label}</span>
            <svg class="track" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
              ${svg`<rect class=${r.kind === 'other' ? 'rest' : r.contribution >= 0 ? 'pos' : 'neg'} x=${g.left} y="1" width=${Math.max(0.3, g.width)} height="8"></rect>
              <line class="zero" x1=${zero} x2=${zero} y1="0" y2="10"></line>`}
            </svg>
            <span class="num">${formatSig(r.contribution)} (${formatShare(r.share)})</span>`;
          return r.concept === null
            ? html`<div class="row other" role="listitem" data-other>${bar}</div>`
            : html`<button
                class="row"
                role="listitem"
                data-concept=${r.concept}
                title=${`Open concept ${r.concept}`}
                @click=${() => this.onOpenConcept(r.concept!)}
              >
                ${bar}
              </button>`;
        })}
      </div>
      <p class="equation mono" id="concept-completeness">
        <span id="concept-completeness-equation">${line.equation}</span>: <span id="concept-completeness-values">${line.values}</span>
      </p>
      <p class="meta" id="concept-completeness-error">
        <span class=${good ? 'ok' : 'warn'}>${good ? '✓' : '⚠'}</span>
        ${line.error}${good ? ': the concepts add up to the logit' : ': larger than expected — see the log'}
      </p>
      <div class="figures">
        <figure>
          <img class="on-black" id="img-concepts-full" src=${v.full.png} alt=${`The ${v.className} logit through the SAE`} />
          <figcaption><strong>Through the SAE</strong>: the ${v.className} logit from all ${v.active} concepts</figcaption>
        </figure>
        <figure>
          <img class="on-black" id="img-concepts-other" src=${v.other.png} alt="The other concepts together" />
          <figcaption>
            <strong>Other concepts</strong> (${v.other.concepts}): ${formatSig(v.other.contribution)}, ${formatShare(v.other.share)}
          </figcaption>
        </figure>
      </div>`;
  }
}

@customElement('fact-concept-traces')
export class FactConceptTraces extends LitElement {
  static override styles = [
    slotStyles,
    css`
      .cards {
        display: flex;
        flex-direction: column;
        gap: 10px;
      }
      .card {
        display: grid;
        grid-template-columns: 112px minmax(10em, 14em) 1fr;
        gap: 12px;
        align-items: start;
        padding: 6px;
        border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #8884));
        border-radius: 2px;
      }
      .trace {
        padding: 0;
        border: none;
        background: #000;
        cursor: pointer;
        width: 112px;
        height: 112px;
      }
      .trace img {
        width: 112px;
        height: 112px;
      }
      .info strong {
        font-weight: 600;
      }
      .info p {
        margin: 0.2em 0;
      }
      .strip {
        overflow-x: auto;
        min-height: 40px;
      }
      .strip button {
        padding: 0;
        border: none;
        background: #000;
        cursor: pointer;
        display: block;
      }
      .strip img {
        height: 112px;
        width: auto;
        max-width: none;
      }
      .strip .meta {
        margin: 0;
      }
      @media (max-width: 620px) {
        .card {
          grid-template-columns: 112px 1fr;
        }
        .strip {
          grid-column: 1 / span 2;
        }
      }
    `,
  ];
  /** none | loading | ready | error (of the decision) */
  @property() state = 'none';
  @property({ attribute: false }) view: ConceptDecisionView | undefined;
  @property({ attribute: false }) strips: ConceptStripView[] = [];
  /** loading | ready | unavailable | none */
  @property({ attribute: false }) stripsStatus = 'none';
  @property({ attribute: false }) stripsMessage = '';
  @property({ attribute: false }) onOpenConcept: (concept: number) => void = () => undefined;
  @property({ attribute: false }) onEvaluate: () => void = () => undefined;

  override render(): TemplateResult {
    return html`<section aria-labelledby="h" data-slot="concept-traces" data-state=${this.state} data-strips=${this.stripsStatus}>
      <h2 id="h">Concept traces</h2>
      ${this.body()}
    </section>`;
  }

  private body(): TemplateResult {
    const v = this.view;
    if (this.state === 'loading') return html`<p class="meta">…</p>`;
    if (this.state !== 'ready' || !v) {
      return html`<p class="empty">
        Where each concept sits in this image, traced exactly to its pixels, appears here with the concept contributions.
      </p>`;
    }
    const strips = new Map(this.strips.map((s) => [s.concept, s]));
    return html`<p class="meta">
        Each concept's trace on this image (its presence, back to the pixels) beside the dataset images it is most present in (inputs above,
        traces below). Click one to open it.
      </p>
      ${
        this.stripsStatus === 'unavailable'
          ? html`<p class="empty" id="strips-unavailable">
              ${this.stripsMessage}
              ${/evaluat/i.test(this.stripsMessage) ? html`<br /><vscode-button secondary @click=${() => this.onEvaluate()}>Evaluate SAE</vscode-button>` : nothing}
            </p>`
          : nothing
      }
      <div class="cards" id="concept-traces">
        ${v.traced.map((t) => {
          const s = strips.get(t.concept);
          return html`<article class="card" data-concept=${t.concept}>
            <button class="trace" title=${`Open concept ${t.concept}`} @click=${() => this.onOpenConcept(t.concept)}>
              <img src=${t.png} alt=${`Trace of concept ${t.concept} on this image`} />
            </button>
            <div class="info">
              <p><strong>Concept ${t.concept}</strong></p>
              <p class="mono">${formatSig(t.contribution)} (${formatShare(t.share)})</p>
              <p class="meta">presence ${formatSig(t.presence)}</p>
              ${s ? html`<p class="meta" data-strip-info>in ${formatPercent(s.frequency)} of images${s.c2 !== null ? html` · C² ${s.c2.toFixed(3)}` : nothing}${s.topClass ? html` · mostly ${s.topClass}` : nothing}</p>` : nothing}
            </div>
            <div class="strip">
              ${
                s
                  ? html`<button title=${`Open concept ${t.concept}`} @click=${() => this.onOpenConcept(t.concept)}>
                      <img src=${s.png} alt=${`The ${s.count} dataset images concept ${t.concept} is most present in, with its traces`} />
                    </button>`
                  : this.stripsStatus === 'loading'
                    ? html`<p class="busy"><vscode-progress-ring></vscode-progress-ring> top images…</p>`
                    : nothing
              }
            </div>
          </article>`;
        })}
      </div>`;
  }
}
