// The Explain panel: the image, the prediction and top classes (pick one to explain it instead), the B-cos
// explanation of the full logit (colour, on black), the signed contribution map, the completeness line, and the slots
// the concept views will fill. It says `painted` once the pictures of an explanation are decoded and on screen.
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '../shared/jobs';
import './conceptSlots';
import { completenessLine, formatNumber, formatPercent } from '../../common/format';
import {
  explainHostMessageSchema,
  explainPanelStateSchema,
  explainWebviewMessageSchema,
  type ConceptsMessage,
  type ExplainView,
  type JobView,
  type StripsMessage,
} from '../shared/protocol';
import { panelStyles } from '../shared/styles';
import { channel, getState, setState } from '../shared/vscodeApi';

const host = channel(explainHostMessageSchema, explainWebviewMessageSchema);
/** When this script started, when the page said `ready` and when its first explanation came, in ms after the page's
 *  document started loading: with the first paint, logged to the host to show how much of a first Explain is the
 *  webview's own start-up. */
const scriptStartedMs = performance.now();
let readyMs: number | undefined;
let explanationMs: number | undefined;
let firstPaintLogged = false;

interface Loading {
  model: string;
  modelName: string;
  image: string;
  imageName: string;
  input: string | null;
  classIndex: number | null;
}

@customElement('fact-explain-panel')
export class FactExplainPanel extends LitElement {
  static override styles = [
    panelStyles,
    css`
      :host {
        --fig: clamp(136px, 27vw, 224px);
      }
      .summary {
        font-size: 1.15em;
        margin: 0.6em 0;
      }
      .summary strong {
        font-weight: 600;
      }
      .busy {
        display: inline-flex;
        align-items: center;
        gap: 6px;
        color: var(--vscode-descriptionForeground);
      }
      .figures {
        display: flex;
        flex-wrap: wrap;
        gap: 16px;
        margin-top: 8px;
      }
      figure {
        margin: 0;
        width: var(--fig, 224px);
      }
      .frame {
        width: var(--fig, 224px);
        height: var(--fig, 224px);
        border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #8884));
        display: flex;
        align-items: center;
        justify-content: center;
        box-sizing: border-box;
      }
      .frame img {
        width: 100%;
        height: 100%;
        image-rendering: pixelated;
        display: block;
      }
      .on-black {
        background: #000;
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
      .stale {
        opacity: 0.45;
        transition: opacity 120ms;
      }
      .legend {
        display: inline-block;
        width: 64px;
        height: 8px;
        vertical-align: middle;
        margin: 0 4px;
        background: linear-gradient(to right, #0000ff, #ffffff, #ff0000);
        border: 1px solid var(--vscode-widget-border, #8884);
      }
      .classes {
        display: flex;
        flex-direction: column;
        gap: 2px;
        max-width: 640px;
      }
      .class {
        display: grid;
        grid-template-columns: minmax(8em, 1fr) 2fr 5em 6em;
        gap: 10px;
        align-items: center;
        text-align: left;
        background: none;
        color: var(--vscode-foreground);
        border: 1px solid transparent;
        border-radius: 2px;
        padding: 4px 8px;
        font: inherit;
        cursor: pointer;
      }
      .class:hover {
        background: var(--vscode-list-hoverBackground);
      }
      .class[aria-pressed='true'] {
        background: var(--vscode-list-activeSelectionBackground, var(--vscode-list-inactiveSelectionBackground));
        color: var(--vscode-list-activeSelectionForeground, var(--vscode-foreground));
        border-color: var(--vscode-focusBorder);
      }
      .class:focus-visible {
        outline: 1px solid var(--vscode-focusBorder);
        outline-offset: -1px;
      }
      .bar-track {
        display: block;
        height: 8px;
        background: color-mix(in srgb, var(--vscode-foreground) 12%, transparent);
        border-radius: 1px;
        overflow: hidden;
      }
      .bar {
        display: block;
        height: 100%;
        background: var(--vscode-charts-blue, var(--vscode-progressBar-background));
      }
      .class[aria-pressed='true'] .bar {
        background: var(--vscode-list-activeSelectionForeground, var(--vscode-foreground));
      }
      .class[aria-pressed='true'] .bar-track {
        background: color-mix(in srgb, var(--vscode-list-activeSelectionForeground, var(--vscode-foreground)) 25%, transparent);
      }
      .num {
        font-family: var(--vscode-editor-font-family);
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      .equation {
        font-size: 1.1em;
        margin: 0.2em 0;
      }
      .ok {
        color: var(--vscode-testing-iconPassed, var(--vscode-charts-green));
      }
      .warn {
        color: var(--vscode-editorWarning-foreground);
      }
    `,
  ];

  @state() private view: ExplainView | undefined;
  @state() private loading: Loading | undefined;
  @state() private error: string | undefined;
  @state() private jobs: JobView[] = [];
  @state() private concepts: ConceptsMessage | undefined;
  @state() private strips: StripsMessage | undefined;
  /** Sent `painted` for this view already. */
  private paintedFor: ExplainView | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    const saved = getState(explainPanelStateSchema);
    if (saved)
      this.loading = {
        model: saved.model,
        modelName: '',
        image: saved.image,
        imageName: saved.image.split(/[\\/]/).pop() ?? saved.image,
        input: null,
        classIndex: saved.classIndex,
      };
    host.onMessage((m) => {
      switch (m.type) {
        case 'loading':
          this.error = undefined;
          this.loading = m;
          if (this.view && (this.view.image !== m.image || this.view.model !== m.model)) this.view = undefined;
          setState({ model: m.model, image: m.image, classIndex: m.classIndex });
          break;
        case 'explanation':
          explanationMs ??= performance.now();
          this.loading = undefined;
          this.error = undefined;
          this.view = m.view;
          setState({ model: m.view.model, image: m.view.image, classIndex: m.view.classIndex });
          break;
        case 'error':
          this.loading = undefined;
          this.error = m.message;
          break;
        case 'jobs':
          this.jobs = m.jobs;
          break;
        case 'concepts':
          this.concepts = m;
          if (this.strips && this.strips.sae !== (m.sae ?? '')) this.strips = undefined;
          break;
        case 'strips':
          // An `append` message adds the strips that arrived since the last one (each strip is sent once).
          this.strips = m.append && this.strips && this.strips.sae === m.sae ? { ...m, strips: [...this.strips.strips, ...m.strips] } : m;
          break;
      }
    });
    readyMs ??= performance.now();
    host.post({ type: 'ready' });
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    // Widths go through the CSSOM: the page's Content-Security-Policy forbids style attributes.
    for (const bar of this.renderRoot.querySelectorAll<HTMLElement>('.bar[data-width]')) bar.style.width = bar.dataset.width!;
    const v = this.view;
    if (!v || this.loading || this.paintedFor === v) return;
    this.paintedFor = v;
    const imgs = [...(this.renderRoot.querySelectorAll('#pictures img') as NodeListOf<HTMLImageElement>)];
    void Promise.all(imgs.map((i) => i.decode().catch(() => undefined))).then(() =>
      requestAnimationFrame(() => {
        if (this.view !== v) return;
        host.post({ type: 'painted', image: v.image, classIndex: v.classIndex });
        if (firstPaintLogged) return;
        firstPaintLogged = true;
        const ms = (t: number | undefined) => `${Math.round(t ?? NaN)} ms`;
        // The document's own navigation (VS Code loads every webview page through its service worker): how long it
        // waited for that worker, and when its HTML had arrived.
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
        const loadedBy = nav ? `; its service worker started at ${ms(nav.workerStart)}, its HTML had come at ${ms(nav.responseEnd)}` : '';
        host.post({
          type: 'log',
          level: 'info',
          message: `first paint ${ms(performance.now())} after this page's document started loading (its script ran at ${ms(scriptStartedMs)}, it said ready at ${ms(readyMs)}, its explanation came at ${ms(explanationMs)}${loadedBy})`,
        });
      }),
    );
  }

  override render(): TemplateResult {
    const v = this.view;
    const l = this.loading;
    const imageName = l?.imageName ?? v?.imageName ?? '';
    const modelName = v?.modelName || l?.modelName || '';
    return html`
      <header>
        <h1 id="explain-title">${imageName || 'Explain an image'}</h1>
        <div class="toolbar" role="toolbar" aria-label="Explanation actions">
          <vscode-button id="export-report" ?disabled=${!v || !!l} @click=${() => host.post({ type: 'exportReport' })}
            >Export HTML Report…</vscode-button
          >
          <vscode-button secondary @click=${() => host.post({ type: 'revealImage' })}>Reveal Image</vscode-button>
          <vscode-button secondary @click=${() => host.post({ type: 'openModel' })}>Open Model</vscode-button>
          <vscode-button secondary ?disabled=${!v} @click=${() => v && host.post({ type: 'copyText', text: summaryText(v) })}
            >Copy Summary</vscode-button
          >
        </div>
      </header>
      <p class="meta" id="explain-model">
        ${modelName ? html`Model: ${modelName}` : nothing}${v ? html` · explained in ${v.seconds < 1 ? `${Math.round(v.seconds * 1000)} ms` : `${v.seconds.toFixed(1)} s`}` : nothing}${v?.ranOn ? html` on <span id="explain-ran-on">${v.ranOn}</span>` : nothing}
      </p>
      <fact-jobs .jobs=${this.jobs} .onCancel=${(id: number) => host.post({ type: 'cancelJob', id })}></fact-jobs>
      ${this.error ? html`<div class="error" id="explain-error" role="alert">${this.error}</div>` : nothing} ${this.summary(v, l)}
      ${this.pictures(v, l)} ${v ? this.topClasses(v, l) : nothing} ${v ? this.completeness(v, !!l) : nothing} ${this.conceptSlots(v)}
    `;
  }

  private conceptSlots(v: ExplainView | undefined): TemplateResult {
    const c = this.concepts;
    const s = this.strips && c && this.strips.sae === (c.sae ?? '') ? this.strips : undefined;
    const open = (concept: number) => host.post({ type: 'openConcept', concept });
    return html`<fact-concept-bars
        .state=${c?.status ?? 'none'}
        .view=${c?.view ?? undefined}
        .message=${c?.message ?? ''}
        .saeName=${c?.saeName ?? ''}
        .explainedClass=${v?.className ?? ''}
        .onOpenConcept=${open}
        .onChooseSae=${() => host.post({ type: 'chooseSae' })}
        .onTrainSae=${() => host.post({ type: 'trainSae' })}
      ></fact-concept-bars>
      <fact-concept-traces
        .state=${c?.status ?? 'none'}
        .view=${c?.view ?? undefined}
        .strips=${s?.strips ?? []}
        .stripsStatus=${s?.status ?? 'none'}
        .stripsMessage=${s?.message ?? ''}
        .onOpenConcept=${open}
        .onEvaluate=${() => host.post({ type: 'evaluateSae' })}
      ></fact-concept-traces>`;
  }

  private summary(v: ExplainView | undefined, l: Loading | undefined): TemplateResult {
    const busy = l
      ? html` <span class="busy" role="status"
          ><vscode-progress-ring></vscode-progress-ring>
          Explaining${l.classIndex !== null && v ? ` class ${v.top.find((t) => t.index === l.classIndex)?.name ?? l.classIndex}` : ''}…</span
        >`
      : nothing;
    if (!v) return html`<p class="summary" id="prediction" aria-live="polite">${this.error ? nothing : busy}</p>`;
    const top = v.top[0];
    return html`<p class="summary" id="prediction" aria-live="polite">
      Predicted <strong id="predicted-class">${top?.name ?? '?'}</strong> (${top ? formatPercent(top.probability) : '?'}) · explaining
      <strong id="explained-class">${v.className}</strong>${v.predicted ? '' : ' (not the predicted class)'}, logit
      ${formatNumber(v.logit)}${busy}
    </p>`;
  }

  private pictures(v: ExplainView | undefined, l: Loading | undefined): TemplateResult {
    const input = v?.images.input ?? l?.input ?? null;
    const stale = l && v ? 'stale' : '';
    const wait = html`<vscode-progress-ring aria-label="Explaining"></vscode-progress-ring>`;
    const name = v?.className ?? '…';
    return html`<section id="pictures" class="figures" aria-label="Explanation pictures">
      <figure>
        <div class="frame">
          ${input ? html`<img id="img-input" src=${input} alt=${`The input image ${l?.imageName ?? v?.imageName ?? ''}`} />` : wait}
        </div>
        <figcaption>Input${v ? ` (${v.width}×${v.height})` : ''}</figcaption>
      </figure>
      <figure>
        <div class="frame on-black ${stale}">
          ${v ? html`<img id="img-explanation" src=${v.images.explanation} alt=${`B-cos explanation of the ${v.className} logit`} />` : wait}
        </div>
        <figcaption><strong>B-cos explanation</strong> of ${name}: W(x) as colour, on black (black: no contribution)</figcaption>
      </figure>
      <figure>
        <div class="frame ${stale}">
          ${v ? html`<img id="img-contributions" src=${v.images.contributions} alt=${`Signed contributions x·W to the ${v.className} logit`} />` : wait}
        </div>
        <figcaption>
          <strong>Contributions</strong> x·W per pixel:<br />lower<span class="legend" aria-hidden="true"></span>raise the logit
        </figcaption>
      </figure>
    </section>`;
  }

  private topClasses(v: ExplainView, l: Loading | undefined): TemplateResult {
    const pending = l?.classIndex ?? null;
    return html`<h2>Top classes</h2>
      <p class="meta" id="top-hint">Choose a class to explain its logit instead.</p>
      <div class="classes" id="top-classes" role="group" aria-label="Top classes; choose one to explain it" @keydown=${this.onClassKey}>
        ${v.top.map(
          (t) =>
            html`<button
              class="class"
              data-class-index=${t.index}
              aria-pressed=${t.index === (pending ?? v.classIndex) ? 'true' : 'false'}
              @click=${() => this.explainClass(t.index)}
              title=${`Explain the ${t.name} logit`}
            >
              <span class="class-name">${t.name}</span>
              <span class="bar-track" aria-hidden="true"
                ><span class="bar" data-width=${`${Math.max(0.5, t.probability * 100).toFixed(1)}%`}></span
              ></span>
              <span class="num">${formatPercent(t.probability)}</span>
              <span class="num" title="logit">${formatNumber(t.logit, 3)}</span>
            </button>`,
        )}
      </div>`;
  }

  private completeness(v: ExplainView, stale: boolean): TemplateResult {
    const c = completenessLine(v);
    const rel = v.completenessError / Math.max(1e-12, Math.abs(v.logit) + Math.abs(v.bias) + Math.abs(v.contributionSum));
    const good = rel < 1e-4;
    return html`<h2>Completeness</h2>
      <p class="equation mono ${stale ? 'stale' : ''}" id="completeness">
        <span id="completeness-equation">${c.equation}</span>: <span id="completeness-values">${c.values}</span>
      </p>
      <p class="meta" id="completeness-error">
        <span class=${good ? 'ok' : 'warn'}>${good ? '✓' : '⚠'}</span>
        ${c.error}${good ? ': the pieces add up to the logit' : ': larger than expected — see the log'} · positive contributions sum to
        ${formatNumber(v.positiveContribution)}
      </p>`;
  }

  private explainClass(index: number): void {
    if (!this.view || (this.view.classIndex === index && !this.loading)) return;
    host.post({ type: 'explainClass', classIndex: index });
  }

  /** Up/Down move between the class buttons (Tab moves past the group). */
  private onClassKey = (e: KeyboardEvent): void => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const buttons = [...(this.renderRoot.querySelectorAll('#top-classes button') as NodeListOf<HTMLButtonElement>)];
    const i = buttons.indexOf(e.target as HTMLButtonElement);
    if (i < 0) return;
    e.preventDefault();
    buttons[(i + (e.key === 'ArrowDown' ? 1 : buttons.length - 1)) % buttons.length]!.focus();
  };
}

function summaryText(v: ExplainView): string {
  const c = completenessLine(v);
  return [
    `${v.imageName} — ${v.modelName}`,
    `predicted ${v.top[0]?.name} (${v.top[0] ? formatPercent(v.top[0].probability) : '?'}); explained ${v.className}`,
    `${c.equation}: ${c.values} (${c.error})`,
    `top: ${v.top.map((t) => `${t.name} ${formatPercent(t.probability)}`).join(', ')}`,
  ].join('\n');
}
