// <fact-line-chart>: a small inline-SVG line chart for live curves (the training panel). No library, no style
// attributes (the page's Content-Security-Policy forbids them): geometry is SVG attributes, colours are classes.
import { LitElement, css, svg, html, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';

export interface ChartPoint {
  x: number;
  y: number;
}

const W = 320;
const H = 150;
const PAD = { left: 46, right: 10, top: 10, bottom: 22 };

/** A short tick label: 3 significant digits, k/M for large values. */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  if (a !== 0 && a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

@customElement('fact-line-chart')
export class FactLineChart extends LitElement {
  static override styles = css`
    :host {
      display: block;
    }
    figure {
      margin: 0;
    }
    figcaption {
      display: flex;
      justify-content: space-between;
      gap: 8px;
      font-size: 0.92em;
      margin-bottom: 2px;
      max-width: 460px;
    }
    figcaption .name {
      font-weight: 600;
    }
    figcaption .last {
      font-family: var(--vscode-editor-font-family);
      font-variant-numeric: tabular-nums;
      color: var(--vscode-descriptionForeground);
    }
    svg {
      width: 100%;
      max-width: 460px;
      height: auto;
      display: block;
      border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #8884));
      border-radius: 2px;
    }
    .axis {
      stroke: var(--vscode-descriptionForeground);
      stroke-width: 0.6;
      opacity: 0.6;
    }
    .grid {
      stroke: var(--vscode-descriptionForeground);
      stroke-width: 0.4;
      opacity: 0.25;
      stroke-dasharray: 2 3;
    }
    .tick {
      fill: var(--vscode-descriptionForeground);
      font-size: 10px;
      font-family: var(--vscode-editor-font-family);
    }
    .line {
      fill: none;
      stroke-width: 1.6;
      stroke-linejoin: round;
      stroke-linecap: round;
    }
    .run {
      stroke: var(--vscode-descriptionForeground);
      stroke-width: 0.8;
      stroke-dasharray: 3 3;
      opacity: 0.7;
    }
    .c-loss {
      stroke: var(--vscode-charts-blue, #3794ff);
    }
    .d-loss {
      fill: var(--vscode-charts-blue, #3794ff);
    }
    .c-fvu {
      stroke: var(--vscode-charts-orange, #d18616);
    }
    .d-fvu {
      fill: var(--vscode-charts-orange, #d18616);
    }
    .c-l0 {
      stroke: var(--vscode-charts-green, #89d185);
    }
    .d-l0 {
      fill: var(--vscode-charts-green, #89d185);
    }
    .c-dead {
      stroke: var(--vscode-charts-red, #f14c4c);
    }
    .d-dead {
      fill: var(--vscode-charts-red, #f14c4c);
    }
    .empty {
      fill: var(--vscode-descriptionForeground);
      font-size: 11px;
    }
  `;

  /** Shown above the chart. */
  @property() label = '';
  /** Colour class suffix: loss, fvu, l0, dead. */
  @property() tone = 'loss';
  @property({ attribute: false }) points: ChartPoint[] = [];
  /** x positions where a resumed run starts (drawn as dashed lines). */
  @property({ attribute: false }) breaks: number[] = [];
  /** Formats the last value shown beside the label. */
  @property({ attribute: false }) format: (v: number) => string = tickLabel;
  /** The y axis starts at 0 (counts, fractions) instead of the data's minimum. */
  @property({ type: Boolean }) fromZero = false;

  override render(): TemplateResult {
    const pts = this.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    const last = pts.at(-1);
    return html`<figure data-chart=${this.tone} data-points=${pts.length}>
      <figcaption>
        <span class="name">${this.label}</span><span class="last" data-last>${last ? this.format(last.y) : '—'}</span>
      </figcaption>
      ${this.chart(pts)}
    </figure>`;
  }

  private chart(pts: ChartPoint[]): TemplateResult {
    const iw = W - PAD.left - PAD.right;
    const ih = H - PAD.top - PAD.bottom;
    if (pts.length === 0) {
      return html`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label=${`${this.label}: no data yet`}>
        ${svg`<text class="empty" x=${W / 2} y=${H / 2} text-anchor="middle">waiting for the first report…</text>`}
      </svg>`;
    }
    let x0 = Math.min(...pts.map((p) => p.x));
    let x1 = Math.max(...pts.map((p) => p.x));
    if (x1 === x0) {
      x0 -= 1;
      x1 += 1;
    }
    let y0 = this.fromZero ? Math.min(0, ...pts.map((p) => p.y)) : Math.min(...pts.map((p) => p.y));
    let y1 = Math.max(...pts.map((p) => p.y));
    if (y1 === y0) {
      const d = Math.abs(y1) * 0.1 || 1;
      y0 -= d;
      y1 += d;
    } else {
      const pad = (y1 - y0) * 0.06;
      y1 += pad;
      if (!this.fromZero) y0 -= pad;
    }
    const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * iw;
    const sy = (y: number) => PAD.top + ih - ((y - y0) / (y1 - y0)) * ih;
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
    const yTicks = [y0, (y0 + y1) / 2, y1];
    const xTicks = [x0, x1];
    const lastPt = pts.at(-1)!;
    return html`<svg
      viewBox="0 0 ${W} ${H}"
      role="img"
      aria-label=${`${this.label} over ${pts.length} reports, last ${this.format(lastPt.y)}`}
    >
      ${yTicks.map(
        (t) => svg`<line class="grid" x1=${PAD.left} x2=${W - PAD.right} y1=${sy(t)} y2=${sy(t)}></line>
        <text class="tick" x=${PAD.left - 4} y=${sy(t) + 3} text-anchor="end">${tickLabel(t)}</text>`,
      )}
      ${xTicks.map((t, i) => svg`<text class="tick" x=${sx(t)} y=${H - 6} text-anchor=${i ? 'end' : 'start'}>${i ? `step ${tickLabel(t)}` : tickLabel(t)}</text>`)}
      ${svg`<line class="axis" x1=${PAD.left} x2=${PAD.left} y1=${PAD.top} y2=${PAD.top + ih}></line>
        <line class="axis" x1=${PAD.left} x2=${W - PAD.right} y1=${PAD.top + ih} y2=${PAD.top + ih}></line>`}
      ${this.breaks.filter((b) => b > x0 && b <= x1).map((b) => svg`<line class="run" x1=${sx(b)} x2=${sx(b)} y1=${PAD.top} y2=${PAD.top + ih}></line>`)}
      ${svg`<path class="line c-${this.tone}" d=${d}></path>`}
      ${pts.length < 40 ? pts.map((p) => svg`<circle class="d-${this.tone}" cx=${sx(p.x)} cy=${sy(p.y)} r="1.8"></circle>`) : svg`<circle class="d-${this.tone}" cx=${sx(lastPt.x)} cy=${sy(lastPt.y)} r="2.4"></circle>`}
    </svg>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'fact-line-chart': FactLineChart;
  }
}
