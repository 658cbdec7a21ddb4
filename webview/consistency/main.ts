// The consistency panel: the C² histogram of an SAE's concepts with the random-trace baseline, the means and Δ_rand,
// and a table of every scored concept that sorts (click a column) and filters (concept number or class name; only
// those above their random baseline). Clicking a row opens the concept.
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '../shared/jobs';
import './histogram';
import { formatFixed, formatPercent, formatSig } from '../../common/format';
import {
  consistencyHostMessageSchema,
  consistencyPanelStateSchema,
  consistencyWebviewMessageSchema,
  type ConsistencyRowView,
  type ConsistencyView,
  type JobView,
} from '../shared/protocol';
import { panelStyles, statCardStyles } from '../shared/styles';
import { channel, getState, setState } from '../shared/vscodeApi';

const host = channel(consistencyHostMessageSchema, consistencyWebviewMessageSchema);

type SortKey = 'concept' | 'score' | 'random' | 'delta' | 'images' | 'frequency' | 'meanContribution' | 'topClass';
const COLUMNS: { key: SortKey; label: string; num: boolean; title: string }[] = [
  { key: 'concept', label: 'Concept', num: true, title: 'The concept (latent) number' },
  { key: 'score', label: 'C²', num: true, title: "Consistency of the concept's traces in the foundation model's features" },
  { key: 'random', label: 'Random', num: true, title: 'C² of random traces on the same images' },
  { key: 'delta', label: 'Δ', num: true, title: 'C² minus its random baseline' },
  { key: 'images', label: 'Images', num: true, title: 'Top images scored' },
  { key: 'frequency', label: 'Present in', num: true, title: 'Share of evaluated images where the concept is present' },
  { key: 'meanContribution', label: 'Mean contribution', num: true, title: 'Mean contribution to the predicted logit' },
  { key: 'topClass', label: 'Mostly', num: false, title: 'The class it contributes to most' },
];
const PAGE = 300;

function value(r: ConsistencyRowView, k: SortKey): number | string | null {
  return k === 'delta' ? r.score - r.random : r[k];
}

@customElement('fact-consistency-panel')
export class FactConsistencyPanel extends LitElement {
  static override styles = [
    panelStyles,
    statCardStyles,
    css`
      .stats {
        grid-template-columns: repeat(auto-fill, minmax(10em, 1fr));
        max-width: 820px;
      }
      .filters {
        display: flex;
        flex-wrap: wrap;
        gap: 8px 16px;
        align-items: center;
        margin: 8px 0;
      }
      input[type='search'] {
        background: var(--vscode-input-background);
        color: var(--vscode-input-foreground);
        border: 1px solid var(--vscode-input-border, transparent);
        padding: 4px 6px;
        font: inherit;
        min-width: 14em;
        border-radius: 2px;
      }
      input[type='search']:focus {
        outline: 1px solid var(--vscode-focusBorder);
        outline-offset: -1px;
      }
      label {
        display: inline-flex;
        gap: 6px;
        align-items: center;
      }
      .table-wrap {
        overflow-x: auto;
        max-width: 1000px;
      }
      table {
        min-width: 640px;
      }
      th button {
        background: none;
        border: none;
        color: inherit;
        font: inherit;
        font-weight: 600;
        cursor: pointer;
        padding: 0;
      }
      th.num,
      td.num {
        text-align: right;
      }
      td.num {
        font-family: var(--vscode-editor-font-family);
        font-variant-numeric: tabular-nums;
      }
      tbody tr {
        cursor: pointer;
      }
      tbody tr:focus-visible {
        outline: 1px solid var(--vscode-focusBorder);
        outline-offset: -1px;
      }
      .good {
        color: var(--vscode-testing-iconPassed, var(--vscode-charts-green));
      }
      .bad {
        color: var(--vscode-editorWarning-foreground);
      }
      .busy {
        display: inline-flex;
        align-items: center;
        gap: 6px;
        color: var(--vscode-descriptionForeground);
      }
    `,
  ];

  @state() private view: ConsistencyView | undefined;
  @state() private error: string | undefined;
  @state() private jobs: JobView[] = [];
  @state() private sortKey: SortKey = 'score';
  @state() private descending = true;
  @state() private filter = '';
  @state() private aboveRandom = false;
  @state() private showAll = false;

  override connectedCallback(): void {
    super.connectedCallback();
    void getState(consistencyPanelStateSchema);
    host.onMessage((m) => {
      switch (m.type) {
        case 'loading':
          this.error = undefined;
          break;
        case 'report':
          this.error = undefined;
          this.view = m.view;
          setState({ model: m.view.model, sae: m.view.sae });
          break;
        case 'error':
          this.error = m.message;
          break;
        case 'jobs':
          this.jobs = m.jobs;
          break;
      }
    });
    host.post({ type: 'ready' });
  }

  /** The rows the filters keep, in the chosen order. */
  rows(): ConsistencyRowView[] {
    const v = this.view;
    if (!v) return [];
    const f = this.filter.trim().toLowerCase().replace(/^#/, '');
    const kept = v.rows.filter(
      (r) =>
        (!this.aboveRandom || r.score > r.random) &&
        (!f || String(r.concept).startsWith(f) || (r.topClass ?? '').toLowerCase().includes(f)),
    );
    const dir = this.descending ? -1 : 1;
    return kept.sort((a, b) => {
      const x = value(a, this.sortKey),
        y = value(b, this.sortKey);
      if (x === y) return a.concept - b.concept;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }

  private sortBy(k: SortKey): void {
    if (this.sortKey === k) this.descending = !this.descending;
    else {
      this.sortKey = k;
      this.descending = k !== 'concept' && k !== 'topClass';
    }
  }

  override render(): TemplateResult {
    const v = this.view;
    const jobs = html`<fact-jobs .jobs=${this.jobs} .onCancel=${(id: number) => host.post({ type: 'cancelJob', id })}></fact-jobs>`;
    const header = html`<header>
      <h1 id="consistency-title">C² consistency${v ? html`: SAE <code>${v.saeName}</code>` : nothing}</h1>
      <div class="toolbar" role="toolbar" aria-label="Consistency actions">
        <vscode-button secondary @click=${() => host.post({ type: 'remeasure' })}>Measure Again</vscode-button>
        <vscode-button secondary @click=${() => host.post({ type: 'revealSae' })}>Reveal Report</vscode-button>
      </div>
    </header>`;
    if (this.error)
      return html`${header}${jobs}
        <div class="error" id="consistency-error" role="alert">${this.error}</div>`;
    if (!v)
      return html`${header}${jobs}
        <p class="busy" role="status"><vscode-progress-ring></vscode-progress-ring> Reading the C² report…</p>`;
    const rows = this.rows();
    const shown = this.showAll ? rows : rows.slice(0, PAGE);
    const above = v.rows.filter((r) => r.score > r.random).length;
    return html`${header}
      <p class="meta" id="consistency-meta">
        ${v.modelName}${v.layer ? html` · layer <code>${v.layer}</code>` : nothing} · foundation model
        <code>${v.foundation || '?'}</code>${v.measuredAt ? ` · measured ${v.measuredAt.replace('T', ' ').slice(0, 16)}` : ''}
      </p>
      ${jobs}
      <section class="stats" id="consistency-stats" aria-label="Summary">
        <div class="stat">
          <div class="k">Mean C²</div>
          <div class="v" id="stat-mean">${formatFixed(v.mean, 3)}</div>
          <div class="sub">over ${v.conceptsInMean} concepts with ≥ ${v.minImagesForMean} images</div>
        </div>
        <div class="stat">
          <div class="k">Random traces</div>
          <div class="v" id="stat-random">${formatFixed(v.randomMean, 3)}</div>
          <div class="sub">same images, random traces</div>
        </div>
        <div class="stat">
          <div class="k">Δ<sub>rand</sub></div>
          <div class="v ${v.deltaRandom > 0 ? 'good' : 'bad'}" id="stat-delta">
            ${v.deltaRandom >= 0 ? '+' : '−'}${Math.abs(v.deltaRandom).toFixed(3)}
          </div>
          <div class="sub">mean C² minus random</div>
        </div>
        <div class="stat">
          <div class="k">Above their baseline</div>
          <div class="v" id="stat-above">${formatPercent(above / Math.max(1, v.rows.length))}</div>
          <div class="sub">${above} of ${v.rows.length} scored${v.dropped ? ` · ${v.dropped} not scored` : ''}</div>
        </div>
      </section>
      <h2>Histogram</h2>
      <fact-c2-histogram
        id="consistency-histogram"
        .scores=${v.rows.map((r) => r.score)}
        .mean=${v.mean}
        .random=${v.randomMean}
      ></fact-c2-histogram>
      <h2>Concepts</h2>
      <div class="filters">
        <input
          type="search"
          id="consistency-filter"
          placeholder="Concept number or class"
          aria-label="Filter concepts by number or class"
          .value=${this.filter}
          @input=${(e: Event) => {
            this.filter = (e.target as HTMLInputElement).value;
          }}
        />
        <label
          ><input
            type="checkbox"
            id="consistency-above"
            .checked=${this.aboveRandom}
            @change=${(e: Event) => {
              this.aboveRandom = (e.target as HTMLInputElement).checked;
            }}
          />
          only above the random baseline</label
        >
        <span class="meta" id="consistency-count">${rows.length} of ${v.rows.length} concepts</span>
      </div>
      <div class="table-wrap">
        <table id="consistency-table" aria-label="Concepts and their C² scores">
          <thead>
            <tr>
              ${COLUMNS.map(
                (c) =>
                  html`<th
                    scope="col"
                    class=${c.num ? 'num' : ''}
                    data-sort=${c.key}
                    aria-sort=${this.sortKey === c.key ? (this.descending ? 'descending' : 'ascending') : 'none'}
                  >
                    <button title=${`${c.title} — sort`} @click=${() => this.sortBy(c.key)}>
                      ${c.label}${this.sortKey === c.key ? (this.descending ? ' ▼' : ' ▲') : ''}
                    </button>
                  </th>`,
              )}
            </tr>
          </thead>
          <tbody>
            ${shown.map(
              (r) =>
                html`<tr
                  tabindex="0"
                  data-concept=${r.concept}
                  title=${`Open concept ${r.concept}`}
                  @click=${() => host.post({ type: 'openConcept', concept: r.concept })}
                  @keydown=${(e: KeyboardEvent) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault();
                      host.post({ type: 'openConcept', concept: r.concept });
                    }
                  }}
                >
                  <td class="num">${r.concept}</td>
                  <td class="num">${formatFixed(r.score, 3)}</td>
                  <td class="num">${formatFixed(r.random, 3)}</td>
                  <td class="num ${r.score > r.random ? 'good' : 'bad'}">
                    ${(r.score - r.random >= 0 ? '+' : '−') + Math.abs(r.score - r.random).toFixed(3)}
                  </td>
                  <td class="num">${r.images}</td>
                  <td class="num">${r.frequency !== null ? formatPercent(r.frequency) : '—'}</td>
                  <td class="num">${r.meanContribution !== null ? formatSig(r.meanContribution) : '—'}</td>
                  <td>${r.topClass ?? '—'}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${
        rows.length > shown.length
          ? html`<div class="toolbar">
              <vscode-button
                secondary
                @click=${() => {
                  this.showAll = true;
                }}
                >Show all ${rows.length}</vscode-button
              >
            </div>`
          : nothing
      }`;
  }
}
