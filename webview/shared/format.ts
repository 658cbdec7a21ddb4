// Number formatting shared by the panels and the HTML report the host writes (pure: no DOM, no Node).
import type { ExplainView } from './protocol';

/** Four decimals, with a true minus sign. */
export function formatNumber(x: number, digits = 4): string {
  return x.toFixed(digits).replace('-', '−');
}

export function formatPercent(p: number): string {
  const pct = p * 100;
  return `${pct >= 99.95 || pct < 0.05 ? pct.toFixed(pct < 0.05 && pct > 0 ? 2 : 1) : pct.toFixed(1)} %`;
}

/** `Σ x·W + bias = logit` with the numbers, the way the panel and the report print it. */
export function completenessLine(v: Pick<ExplainView, 'contributionSum' | 'bias' | 'logit' | 'completenessError'>): { equation: string; values: string; error: string } {
  const f = (x: number) => formatNumber(x);
  const bias = v.bias < 0 ? `(${f(v.bias)})` : f(v.bias);
  return {
    equation: 'Σ x·W + bias = logit',
    values: `${f(v.contributionSum)} + ${bias} = ${f(v.logit)}`,
    error: `completeness error ${v.completenessError.toExponential(1).replace('-', '−')}`,
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
