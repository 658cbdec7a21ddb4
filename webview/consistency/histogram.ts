// <fact-c2-histogram>: the C² scores of an SAE's concepts as an inline SVG histogram in the theme's colours (the
// PNG saved beside the checkpoint has a white background, which glared in dark themes), with the random-baseline
// and mean lines whose labels never overlap (common/histogram.ts places them, for the PNG too).
import { LitElement, css, html, svg, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { C2_RANGE, histogramCounts, markerLabels } from '../../common/histogram';
import { formatFixed } from '../../common/format';

const W = 640;
const H = 300;
const PAD = { l: 44, r: 12, t: 14, b: 38 };
const BINS = 20;

@customElement('fact-c2-histogram')
export class FactC2Histogram extends LitElement {
  static override styles = css`
    :host {
      display: block;
      max-width: 640px;
    }
    svg {
      width: 100%;
      height: auto;
      display: block;
      border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #8884));
      border-radius: 2px;
    }
    .bin {
      fill: var(--vscode-charts-blue, #3794ff);
    }
    .bin:hover {
      opacity: 0.8;
    }
    .axis {
      stroke: var(--vscode-descriptionForeground);
      stroke-width: 1;
      opacity: 0.7;
    }
    .tick,
    .title {
      fill: var(--vscode-descriptionForeground);
      font-size: 11px;
      font-family: var(--vscode-font-family);
    }
    .title {
      font-size: 12px;
    }
    .marker {
      stroke-width: 2;
      stroke-dasharray: 5 3;
    }
    .marker.random {
      stroke: var(--vscode-charts-red, #f14c4c);
    }
    .label.random {
      fill: var(--vscode-charts-red, #f14c4c);
    }
    .marker.mean {
      stroke: var(--vscode-charts-green, #89d185);
    }
    .label.mean {
      fill: var(--vscode-charts-green, #89d185);
    }
    .label {
      font-size: 12px;
      font-family: var(--vscode-editor-font-family);
    }
  `;

  @property({ attribute: false }) scores: number[] = [];
  @property({ attribute: false }) mean: number | null = null;
  @property({ attribute: false }) random: number | null = null;

  override render(): TemplateResult {
    const { lo, hi } = C2_RANGE;
    const counts = histogramCounts(this.scores, BINS);
    const max = Math.max(1, ...counts);
    const w = W - PAD.l - PAD.r;
    const h = H - PAD.t - PAD.b;
    const x = (v: number) => PAD.l + ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * w;
    const markers = [
      ['random', this.random],
      ['mean', this.mean],
    ].flatMap(([k, v]) =>
      typeof v === 'number' && Number.isFinite(v) ? [{ key: k as string, text: `${k} ${formatFixed(v, 3)}`, x: x(v) }] : [],
    );
    const labels = markerLabels(markers, PAD.l, PAD.l + w);
    const label = `Histogram of the C² scores of ${this.scores.length} concepts${this.mean !== null ? `, mean ${formatFixed(this.mean, 3)}` : ''}${this.random !== null ? `, random baseline ${formatFixed(this.random, 3)}` : ''}`;
    return html`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label=${label} data-bins=${BINS} data-concepts=${this.scores.length}>
      ${counts.map((c, i) => {
        const bh = (c / max) * h;
        return svg`<rect class="bin" x=${(PAD.l + (i * w) / BINS + 1).toFixed(1)} y=${(PAD.t + h - bh).toFixed(1)} width=${(w / BINS - 2).toFixed(1)} height=${bh.toFixed(1)}><title>${c} concepts with C² in [${formatFixed(lo + (i * (hi - lo)) / BINS, 2)}, ${formatFixed(lo + ((i + 1) * (hi - lo)) / BINS, 2)})</title></rect>`;
      })}
      ${svg`<line class="axis" x1=${PAD.l} x2=${PAD.l + w} y1=${PAD.t + h} y2=${PAD.t + h}></line>`}
      ${[0, 0.2, 0.4, 0.6, 0.8, 1].map((t) => svg`<text class="tick" x=${x(t)} y=${PAD.t + h + 15} text-anchor="middle">${t.toFixed(1)}</text>`)}
      ${svg`<text class="tick" x=${PAD.l - 6} y=${PAD.t + 10} text-anchor="end">${max}</text><text class="tick" x=${PAD.l - 6} y=${PAD.t + h} text-anchor="end">0</text>`}
      ${markers.map((m) => svg`<line class="marker ${m.key}" x1=${m.x} x2=${m.x} y1=${PAD.t} y2=${PAD.t + h}></line>`)}
      ${labels.map((l) => svg`<text class="label ${l.key}" data-marker=${l.key} x=${l.x.toFixed(1)} y=${PAD.t + 12 + 15 * l.row} text-anchor=${l.anchor}>${l.text}</text>`)}
      ${svg`<text class="title" x=${PAD.l + w / 2} y=${H - 6} text-anchor="middle">C² score (${this.scores.length} concepts) · bars: number of concepts</text>`}
    </svg>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'fact-c2-histogram': FactC2Histogram;
  }
}
