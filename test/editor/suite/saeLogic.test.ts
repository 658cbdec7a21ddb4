// The editor's pure SAE logic (no model runs): matching code to layers for hovers, finding string literals, the
// default SAE shape, the concept bars, and the checkpoint descriptions the tree shows.
import * as assert from 'node:assert/strict';
import { matchLayer, pathAt, stringLiteralAt } from '../../../src/extension/hover/hoverText';
import { defaultSaeShape } from '../../../src/extension/sae/saeFiles';
import { checkpointFacts, describeCheckpoint } from '../../../src/extension/tree/saeCheckpoints';
import { barGeometry, conceptBarRows, conceptCompletenessLine, formatSig } from '../../../common/format';

suite('FaCT: SAE logic', () => {
  test('a dotted path in code names a layer by its label or alias, whole or by its tail', () => {
    const layers = [
      { label: 'layer3', aliases: [] }, { label: 'layer2', aliases: ['layer2.0'] }, { label: 'layer2.conv1', aliases: [] },
      { label: 'features.norm5', aliases: [] }, { label: '0.transformer.encoder_10', aliases: ['encoder.layers.encoder_10'] },
    ];
    const cases: [string, string | undefined][] = [
      ['layer3', 'layer3'], ['self.layer3', 'layer3'], ['self.layer2', 'layer2'], ['self.layer2.conv1', 'layer2.conv1'],
      ['model.features.norm5', 'features.norm5'], ['features.norm5', 'features.norm5'], ['encoder_10', '0.transformer.encoder_10'],
      ['self.encoder.layers.encoder_10', '0.transformer.encoder_10'], ['layer31', undefined], ['self.layer', undefined], ['norm5x', undefined],
    ];
    for (const [p, want] of cases) assert.equal(matchLayer(p, layers), want, p);
  });

  test('the path and the string literal under the cursor', () => {
    const line = "        x = self.layer3(x)  # don't";
    assert.deepEqual(pathAt(line, line.indexOf('layer3') + 1), { text: 'self.layer3', start: 12, end: 23 });
    assert.equal(pathAt(line, 9), undefined);
    const py = "    image = Image.open(\"models/x/0002-trouser.png\").convert('L')  # 'not.png'";
    assert.equal(stringLiteralAt(py, py.indexOf('0002'))?.text, 'models/x/0002-trouser.png');
    assert.equal(stringLiteralAt(py, py.indexOf("'L'") + 1)?.text, 'L');
    assert.equal(stringLiteralAt(py, py.indexOf('not.png')), undefined, 'nothing in a comment');
    const ts = "const img = `samples/a b.jpg`; // 'x.png'";
    assert.equal(stringLiteralAt(ts, ts.indexOf('a b'))?.text, 'samples/a b.jpg');
  });

  test('default SAE shape: 8 concepts per channel, k one per 128 concepts, a batch that fits the store', () => {
    assert.deepEqual(defaultSaeShape(128, 882_000), { k: 8, dictSize: 1024, batchSize: 4096 });
    assert.deepEqual(defaultSaeShape(8, 3072), { k: 2, dictSize: 64, batchSize: 256 });
    assert.deepEqual(defaultSaeShape(768, 10_000_000), { k: 48, dictSize: 6144, batchSize: 4096 });
  });

  test('concept bars: traced, most negative, the rest together; one scale around zero', () => {
    const rows = conceptBarRows({
      traced: [{ concept: 5, presence: 1, contribution: 2, share: 80, traceSum: 1, png: '' }, { concept: 9, presence: 1, contribution: 0.5, share: 20, traceSum: 1, png: '' }],
      negative: [{ concept: 3, presence: 1, contribution: -0.4, share: -16 }],
      other: { concepts: 4, contribution: -0.3, share: -12, png: '' },
    });
    assert.deepEqual(rows.map((r) => [r.kind, r.label, Number(r.contribution.toFixed(6)), Number(r.share.toFixed(6))]), [
      ['traced', 'Concept 5', 2, 80], ['traced', 'Concept 9', 0.5, 20], ['negative', 'Concept 3', -0.4, -16], ['other', '3 other concepts', 0.1, 4],
    ]);
    const g = barGeometry(-0.4, 2, 0.4);
    assert.ok(Math.abs(g.zero - 100 * 0.4 / 2.4) < 1e-9 && Math.abs(g.left) < 1e-9 && Math.abs(g.width - g.zero) < 1e-9);
    assert.equal(conceptCompletenessLine({ conceptSum: 1.5, bias: -2.1972246, logit: -0.6972246, completenessError: 1.2e-7 }).values, '1.5000 + (−2.1972) = −0.6972');
    assert.deepEqual([formatSig(0.00123), formatSig(-0.5), formatSig(12.3456), formatSig(0)], ['0.00123', '−0.500', '12.346', '0']);
  });

  test('a checkpoint reads as k, size, accuracy with the SAE, mean C² and FVU', () => {
    const c = { dir: '/m/saes/layer3', name: 'layer3', k: 8, dictSize: 1024, metrics: {}, evaluation: { accuracy: 0.92, accuracyWithSae: 0.9012, images: 10000 }, consistency: { mean: 0.6123, randomMean: 0.41 }, fvu: { value: 0.1234, source: 'training' as const } };
    assert.equal(describeCheckpoint(c), 'k 8 · 1,024 latents · acc 90.1 % · C² 0.612 · FVU 0.123');
    assert.deepEqual(checkpointFacts(c).map((f) => f.long), [
      'Accuracy with the SAE: 90.1 % (without: 92.0 %) on 10,000 images',
      'Mean C²: 0.612 (random traces: 0.410, Δ 0.202)',
      'FVU: 0.123 (last training report)',
    ]);
    const { evaluation: _evaluation, consistency: _consistency, fvu: _fvu, ...unmeasured } = c;
    assert.equal(describeCheckpoint({ ...unmeasured, resumable: true }), 'k 8 · 1,024 latents · interrupted');
  });
});
