// Escaping and number formatting shared by everything that shows FaCT's numbers: the webview panels (which bundle
// this file), the HTML report the core renders (for `fact explain --html` and the panel's Export), the CLI and the
// hovers. Neutral: it imports nothing — no Node, no DOM, no vscode — so every layer may import it.

/** Text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A PNG given as base64, as a data: URI for <img src>. */
export function pngDataUri(base64: string): string {
  return `data:image/png;base64,${base64}`;
}

/** A true minus sign (U+2212) instead of the hyphen that toFixed writes. */
function trueMinus(s: string): string {
  return s.replace('-', '−');
}

/** Four decimals (or `digits`), with a true minus sign. */
export function formatNumber(x: number, digits = 4): string {
  return trueMinus(x.toFixed(digits));
}

/** `digits` decimals with a true minus sign. */
export function formatFixed(x: number, digits: number): string {
  return trueMinus(x.toFixed(digits));
}

/** A fraction (0.123) as a percentage ("12.3 %"); tiny non-zero fractions keep two decimals. */
export function formatPercent(p: number): string {
  const pct = p * 100;
  return `${pct >= 99.95 || pct < 0.05 ? pct.toFixed(pct < 0.05 && pct > 0 ? 2 : 1) : pct.toFixed(1)} %`;
}

/** A signed share already in percent (23.4) as "23.4 %" or "−1.2 %". */
export function formatShare(share: number): string {
  return `${trueMinus(share.toFixed(1))} %`;
}

/** A contribution or presence with about 3 significant digits (small values are common), true minus sign. */
export function formatSig(x: number): string {
  const a = Math.abs(x);
  const s = a === 0 ? '0' : a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(3) : a >= 1e-4 ? x.toPrecision(3) : x.toExponential(1);
  return trueMinus(s);
}

/** A small error in exponent form with a true minus sign: "3.9e−8". */
export function formatError(x: number, digits = 1): string {
  return x.toExponential(digits).replace(/-/g, '−');
}

/** A term of a sum: a negative one in parentheses, so that `a + (−b)` reads against the equation's `a + b`. */
export function formatTerm(x: number, digits = 4): string {
  return x < 0 ? `(${formatNumber(x, digits)})` : formatNumber(x, digits);
}

export interface CompletenessLine {
  equation: string;
  values: string;
  error: string;
}

/** `Σ x·W + bias = logit` with the numbers, the way the panel, the report and the CLI print it. */
export function completenessLine(v: { contributionSum: number; bias: number; logit: number; completenessError: number }): CompletenessLine {
  return {
    equation: 'Σ x·W + bias = logit',
    values: `${formatNumber(v.contributionSum)} + ${formatTerm(v.bias)} = ${formatNumber(v.logit)}`,
    error: `completeness error ${formatError(v.completenessError)}`,
  };
}

/** `Σ c_k + bias = logit` through an SAE's concepts, with the numbers. */
export function conceptCompletenessLine(v: {
  conceptSum: number;
  bias: number;
  logit: number;
  completenessError: number;
}): CompletenessLine {
  return {
    equation: 'Σ c_k + bias = logit',
    values: `${formatNumber(v.conceptSum)} + ${formatTerm(v.bias)} = ${formatNumber(v.logit)}`,
    error: `completeness error ${formatError(v.completenessError)}`,
  };
}

interface ShareLike {
  concept: number;
  contribution: number;
  share: number;
}

export interface ConceptBarRow {
  kind: 'traced' | 'negative' | 'other';
  concept: number | null;
  label: string;
  contribution: number;
  share: number;
}

/** The bars of a decision through concepts: the traced (largest) concepts, the most negative ones, the rest together. */
export function conceptBarRows<
  V extends { traced: ShareLike[]; negative: ShareLike[]; other: { concepts: number; contribution: number; share: number } },
>(v: V): ConceptBarRow[] {
  const rows: ConceptBarRow[] = v.traced.map((t) => ({
    kind: 'traced',
    concept: t.concept,
    label: `Concept ${t.concept}`,
    contribution: t.contribution,
    share: t.share,
  }));
  for (const n of v.negative)
    rows.push({ kind: 'negative', concept: n.concept, label: `Concept ${n.concept}`, contribution: n.contribution, share: n.share });
  const restCount = v.other.concepts - v.negative.length;
  if (restCount > 0) {
    const c = v.other.contribution - v.negative.reduce((a, n) => a + n.contribution, 0);
    const sh = v.other.share - v.negative.reduce((a, n) => a + n.share, 0);
    rows.push({
      kind: 'other',
      concept: null,
      label: `${restCount} other concept${restCount === 1 ? '' : 's'}`,
      contribution: c,
      share: sh,
    });
  }
  return rows;
}

/**
 * Geometry of a diverging bar chart in % of the track: one scale for both signs, zero where the largest negative
 * bar ends (at the left edge when nothing is negative, so no half of the track is left empty).
 */
export function barGeometry(value: number, maxPos: number, maxNeg: number): { zero: number; left: number; width: number } {
  const total = maxPos + maxNeg;
  const scale = total > 0 ? 100 / total : 0;
  const zero = maxNeg * scale;
  const width = Math.abs(value) * scale;
  return { zero, left: value >= 0 ? zero : zero - width, width };
}
