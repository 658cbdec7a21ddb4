// The shared formatters (common/format.ts): true minus signs, a negative term in parentheses, escaping.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  barGeometry,
  completenessLine,
  conceptBarRows,
  conceptCompletenessLine,
  escapeHtml,
  formatPercent,
  formatShare,
  formatSig,
  formatTerm,
  pngDataUri,
} from '../../../common/format';
import { histogramCounts, markerLabels } from '../../../common/histogram';

describe('common/format', () => {
  it('a negative bias is written as a signed term, never as "+ -2.20"', () => {
    const l = conceptCompletenessLine({ conceptSum: 10.6507, bias: -2.1972, logit: 8.4535, completenessError: 3.9e-8 });
    assert.equal(l.values, '10.6507 + (−2.1972) = 8.4535');
    assert.equal(l.error, 'completeness error 3.9e−8');
    assert.equal(
      completenessLine({ contributionSum: -1, bias: 0.5, logit: -0.5, completenessError: 0 }).values,
      '−1.0000 + 0.5000 = −0.5000',
    );
    assert.equal(formatTerm(-0.25, 2), '(−0.25)');
  });

  it('percentages, shares, significant digits, escaping, data URIs', () => {
    assert.equal(formatPercent(0.1234), '12.3 %');
    assert.equal(formatPercent(0.0001), '0.01 %');
    assert.equal(formatShare(-1.25), '−1.3 %');
    assert.equal(formatSig(-0.001234), '−0.00123');
    assert.equal(escapeHtml(`<a href="x">&'</a>`), '&#60;a href=&#34;x&#34;&#62;&#38;&#39;&#60;/a&#62;');
    assert.equal(pngDataUri('AAAA'), 'data:image/png;base64,AAAA');
  });

  it('concept bars: traced, most negative, the rest together; one scale around zero', () => {
    const rows = conceptBarRows({
      traced: [
        { concept: 5, presence: 1, contribution: 2, share: 80, traceSum: 1, png: '' },
        { concept: 9, presence: 1, contribution: 0.5, share: 20, traceSum: 1, png: '' },
      ],
      negative: [{ concept: 3, presence: 1, contribution: -0.4, share: -16 }],
      other: { concepts: 4, contribution: -0.3, share: -12, png: '' },
    });
    assert.deepEqual(
      rows.map((r) => [r.kind, r.label, Number(r.contribution.toFixed(6)), Number(r.share.toFixed(6))]),
      [
        ['traced', 'Concept 5', 2, 80],
        ['traced', 'Concept 9', 0.5, 20],
        ['negative', 'Concept 3', -0.4, -16],
        ['other', '3 other concepts', 0.1, 4],
      ],
    );
    const g = barGeometry(-0.4, 2, 0.4);
    assert.ok(Math.abs(g.zero - (100 * 0.4) / 2.4) < 1e-9 && Math.abs(g.left) < 1e-9 && Math.abs(g.width - g.zero) < 1e-9);
    assert.equal(
      conceptCompletenessLine({ conceptSum: 1.5, bias: -2.1972246, logit: -0.6972246, completenessError: 1.2e-7 }).values,
      '1.5000 + (−2.1972) = −0.6972',
    );
    assert.deepEqual([formatSig(0.00123), formatSig(-0.5), formatSig(12.3456), formatSig(0)], ['0.00123', '−0.500', '12.346', '0']);
  });
});

describe('common/histogram', () => {
  it('bins C² scores over [−0.2, 1], outliers into the end bins', () => {
    assert.deepEqual(histogramCounts([-5, -0.2, 0.39, 0.41, 1, 7], 6), [2, 0, 1, 1, 0, 2]);
  });

  const overlap = (a: { x0: number; x1: number; row: number }, b: { x0: number; x1: number; row: number }) =>
    a.row === b.row && a.x0 < b.x1 && b.x0 < a.x1;
  const spans = (labels: ReturnType<typeof markerLabels>, cw = 6.6) =>
    labels.map((l) => {
      const w = l.text.length * cw;
      return { x0: l.anchor === 'start' ? l.x : l.x - w, x1: l.anchor === 'start' ? l.x + w : l.x, row: l.row };
    });

  it('the labels of two close marker lines do not overlap, and stay inside the plot', () => {
    for (const [random, mean] of [
      [300, 310],
      [310, 300],
      [100, 500],
      [590, 595],
      [50, 52],
    ] as const) {
      const labels = markerLabels(
        [
          { key: 'random', text: 'random 0.123', x: random },
          { key: 'mean', text: 'mean 0.130', x: mean },
        ],
        48,
        624,
      );
      const [a, b] = spans(labels);
      assert.ok(!overlap(a!, b!), `random at ${random}, mean at ${mean}: ${JSON.stringify(labels)}`);
      for (const s of [a!, b!]) assert.ok(s.x0 >= 48 && s.x1 <= 624, `inside the plot: ${JSON.stringify(s)}`);
    }
  });

  it("a label does not cross the other marker's line when it has room on the other side", () => {
    const labels = markerLabels(
      [
        { key: 'random', text: 'random 0.100', x: 200 },
        { key: 'mean', text: 'mean 0.120', x: 215 },
      ],
      48,
      624,
    );
    assert.deepEqual(
      labels.map((l) => [l.key, l.anchor, l.row]),
      [
        ['random', 'end', 0],
        ['mean', 'start', 0],
      ],
    );
  });
});
