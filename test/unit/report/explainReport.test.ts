// The HTML report: one renderer for the CLI (`fact explain --html`) and the Explain panel's Export. The same core
// results give the same page through both entry points' conversions, and the page is compared with a snapshot
// (set UPDATE_SNAPSHOTS=1 to rewrite it after an intended change, and read the diff).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { ExplainResult } from '../../../src/core/jobs/methods';
import type { DecisionResult } from '../../../src/core/jobs/saeMethods';
import { renderExplainReport, type ReportSection } from '../../../src/core/report/explainReport';
import { decisionReportView, explainReportView, saeShortName } from '../../../src/core/report/reportViews';
import { toConceptDecisionView, toExplainView } from '../../../src/extension/panels/explainView';

// A 1×1 PNG per picture, told apart by its pixel, so that a picture in the wrong place shows in the snapshot.
const png = (n: number) =>
  `iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Dw${String.fromCharCode(65 + n)}AAAAABJRU5ErkJggg==`;

function plain(image: string, classIndex: number): ExplainResult {
  return {
    model: '/m/model.onnx',
    image,
    files: [],
    explanation: {
      top: [
        { index: 9, name: 'Ankle boot', logit: 10.287, probability: 0.9991 },
        { index: 7, name: 'Sneaker', logit: 3.1, probability: 0.0009 },
      ],
      classIndex,
      className: classIndex === 9 ? 'Ankle boot' : 'Sneaker',
      logit: 10.287,
      bias: -2.1972,
      contributionSum: 12.4842,
      completenessError: 2e-6,
      positiveContribution: 14.2774,
      height: 28,
      width: 28,
    },
    png: { input: png(0), explanation: png(1), contributions: png(2) },
  };
}

function decision(image: string): DecisionResult {
  return {
    model: '/m/model.onnx',
    image,
    sae: '/m/saes/layer3',
    explanation: {
      top: [
        { index: 9, name: 'Ankle boot', logit: 8.4534, probability: 0.9999, modelLogit: 10.287 },
        { index: 7, name: 'Sneaker', logit: -5.2452, probability: 0.0001, modelLogit: -6.12 },
      ],
      predictedWithoutSae: 9,
      predictedWithoutSaeName: 'Ankle boot',
      classIndex: 9,
      className: 'Ankle boot',
      logit: 8.4534,
      bias: -2.1972,
      concepts: [
        { concept: 766, presence: 108.1, contribution: 1.662, share: 12.6, shareOfLogit: 19.66 },
        { concept: 431, presence: 89.2, contribution: 0.92, share: 7, shareOfLogit: 10.88 },
        { concept: 5, presence: 3, contribution: 8.2657, share: 62.8, shareOfLogit: 97.78 },
        { concept: 348, presence: 2.1, contribution: -0.197, share: -1.5, shareOfLogit: -2.33 },
      ],
      traced: [
        {
          concept: 766,
          presence: 108.1,
          contribution: 1.662,
          share: 12.6,
          shareOfLogit: 19.66,
          traceSum: 108.1,
          traceBias: 0,
          png: png(3),
        },
        { concept: 431, presence: 89.2, contribution: 0.92, share: 7, shareOfLogit: 10.88, traceSum: 89.2, traceBias: 0, png: png(4) },
      ],
      other: { concepts: 2, contribution: 8.0687, share: 61.3, shareOfLogit: 95.45, png: png(5) },
      full: { png: png(6), contributionMapSum: 10.6507 },
      completenessError: 3.9e-8,
      side: 28,
      input: png(7),
    },
  };
}

const meta = { generatedAt: new Date('2026-01-02T03:04:05Z'), tool: 'FaCT test', executionProvider: 'cpu' };
const strips = [
  {
    concept: 766,
    png: 'data:image/png;base64,' + png(8),
    count: 16,
    frequency: 0.0421,
    meanContribution: 0.31,
    c2: 0.412,
    topClass: 'Ankle boot',
  },
];

/** The sections as the CLI's core handler builds them… */
function cliSections(images: string[]): ReportSection[] {
  return images.map((image) => ({
    explain: explainReportView(plain(image, 9), 'B-cos CNN', 0.1),
    concepts: { view: decisionReportView(decision(image), saeShortName('/m/model.onnx', '/m/saes/layer3'), 'layer3', 0.2), strips },
  }));
}

/** …and as the Explain panel's Export builds them from what it shows. */
function panelSections(images: string[]): ReportSection[] {
  return images.map((image) => ({
    explain: toExplainView(plain(image, 9), 'B-cos CNN', 0.1),
    concepts: { view: toConceptDecisionView(decision(image), 'layer3', 'layer3', 0.2), strips },
  }));
}

function snapshot(name: string, html: string): void {
  const file = path.join(__dirname, '__snapshots__', name);
  if (process.env.UPDATE_SNAPSHOTS || !existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, html);
    if (!process.env.UPDATE_SNAPSHOTS) assert.fail(`wrote the missing snapshot ${name}: read it, commit it, run again`);
  }
  assert.equal(html, readFileSync(file, 'utf8'), `the report differs from ${name} (UPDATE_SNAPSHOTS=1 rewrites it)`);
}

describe('the HTML report', () => {
  it('the explanation view names where it ran when the result says (the Explain panel shows it)', () => {
    assert.equal(
      explainReportView({ ...plain('/d/a.png', 9), executionProvider: 'webgpu', adapter: 'llvmpipe (software)' }, 'm', 0.1).ranOn,
      'webgpu on llvmpipe (software)',
    );
    assert.equal('ranOn' in explainReportView(plain('/d/a.png', 9), 'm', 0.1), false);
  });

  it('the CLI and the panel export render the same page for the same results (one image)', () => {
    const cli = renderExplainReport(cliSections(['/data/0000-ankle-boot.png']), meta);
    assert.equal(renderExplainReport(panelSections(['/data/0000-ankle-boot.png']), meta), cli);
    snapshot('one-image.html', cli);
  });

  it('several images: an overall title, an index, one section each (CLI and panel alike)', () => {
    const images = ['/data/0000-ankle-boot.png', '/data/0009-sneaker.png'];
    const cli = renderExplainReport(cliSections(images), meta);
    assert.equal(renderExplainReport(panelSections(images), meta), cli);
    assert.match(cli, /<h1>B-cos CNN: 2 images explained<\/h1>/);
    assert.equal((cli.match(/<section id="image-\d">/g) ?? []).length, 2);
    assert.equal((cli.match(/<a href="#image-\d">/g) ?? []).length, 2);
    snapshot('two-images.html', cli);
  });

  it("shows the numbers: the model's own logit beside the SAE's, signed terms, the bars start at the largest negative one", () => {
    const html = renderExplainReport(cliSections(['/data/0000-ankle-boot.png']), meta);
    assert.match(html, /<td>Ankle boot<\/td><td class="num">8\.4534<\/td><td class="num">100\.0 %<\/td><td class="num">10\.2870<\/td>/);
    assert.match(html, /Σ c_k \+ bias = logit: 10\.6507 \+ \(−2\.1972\) = 8\.4534/);
    assert.doesNotMatch(html, /\+ -/);
    // One negative concept (348, −0.197) of a track of 420 px from x = 150: zero sits at 150 + 420·0.197/(8.0687+0.197)… the
    // "other" row carries the rest; what matters is that zero is not in the middle (no empty negative half).
    const zero = Number(/<line x1="([\d.]+)" x2="[\d.]+" y1="0" y2="\d+" class="zero"\/>/.exec(html)![1]);
    assert.ok(zero > 150 && zero < 150 + 420 * 0.1, `zero at ${zero}`);
    assert.doesNotMatch(html, /<script|https?:\/\//, 'self-contained');
  });
});
