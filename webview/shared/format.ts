// Number formatting shared by the panels and the HTML report the host writes (pure: no DOM, no Node).
import type { ConceptDecisionView, ExplainView } from './protocol';

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

/** `Σ c_k + bias = logit` through an SAE's concepts, with the numbers. */
export function conceptCompletenessLine(v: Pick<ConceptDecisionView, 'conceptSum' | 'bias' | 'logit' | 'completenessError'>): { equation: string; values: string; error: string } {
  const f = (x: number) => formatNumber(x);
  const bias = v.bias < 0 ? `(${f(v.bias)})` : f(v.bias);
  return {
    equation: 'Σ c_k + bias = logit',
    values: `${f(v.conceptSum)} + ${bias} = ${f(v.logit)}`,
    error: `completeness error ${v.completenessError.toExponential(1).replace('-', '−')}`,
  };
}

export interface ConceptBarRow { kind: 'traced' | 'negative' | 'other'; concept: number | null; label: string; contribution: number; share: number }

/** The bars of a decision through concepts: the traced (largest) concepts, the most negative ones, the rest together. */
export function conceptBarRows(v: Pick<ConceptDecisionView, 'traced' | 'negative' | 'other'>): ConceptBarRow[] {
  const rows: ConceptBarRow[] = v.traced.map((t) => ({ kind: 'traced', concept: t.concept, label: `Concept ${t.concept}`, contribution: t.contribution, share: t.share }));
  for (const n of v.negative) rows.push({ kind: 'negative', concept: n.concept, label: `Concept ${n.concept}`, contribution: n.contribution, share: n.share });
  const restCount = v.other.concepts - v.negative.length;
  if (restCount > 0) {
    const c = v.other.contribution - v.negative.reduce((a, n) => a + n.contribution, 0);
    const sh = v.other.share - v.negative.reduce((a, n) => a + n.share, 0);
    rows.push({ kind: 'other', concept: null, label: `${restCount} other concept${restCount === 1 ? '' : 's'}`, contribution: c, share: sh });
  }
  return rows;
}

/** A contribution or presence with about 3 significant digits (small values are common), true minus sign. */
export function formatSig(x: number): string {
  const a = Math.abs(x);
  const s = a === 0 ? '0' : a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(3) : a >= 1e-4 ? x.toPrecision(3) : x.toExponential(1);
  return s.replace('-', '−');
}

/** `digits` decimals with a true minus sign. */
export function formatFixed(x: number, digits: number): string {
  return x.toFixed(digits).replace('-', '−');
}

/** A signed share in percent, e.g. "23.4 %" or "−1.2 %". */
export function formatShare(share: number): string {
  return `${share.toFixed(1).replace('-', '−')} %`;
}

/**
 * Geometry of a diverging bar chart in % of the track: one scale for both signs, zero where the largest negative
 * bar ends (at the left edge when nothing is negative).
 */
export function barGeometry(value: number, maxPos: number, maxNeg: number): { zero: number; left: number; width: number } {
  const total = maxPos + maxNeg;
  const scale = total > 0 ? 100 / total : 0;
  const zero = maxNeg * scale;
  const width = Math.abs(value) * scale;
  return { zero, left: value >= 0 ? zero : zero - width, width };
}
