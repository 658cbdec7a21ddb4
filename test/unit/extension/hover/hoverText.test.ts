// Hovers: code matched to a model's layers, the path and string literal under the cursor, and names from card.json
// and file names reaching the markdown as literal text.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { codeSpan, escapeMarkdown, matchLayer, pathAt, stringLiteralAt } from '../../../../src/extension/hover/hoverText';

describe('hover markdown escaping', () => {
  it('turns links, images, HTML, theme icons and table breaks from a card into literal text', () => {
    const evil = '[run](command:workbench.action.terminal.new) ![x](http://e/x.png) <img src=x> $(zap) a|b\nnext';
    const out = escapeMarkdown(evil);
    assert.doesNotMatch(out, /(^|[^\\])\[/, 'no unescaped [');
    assert.doesNotMatch(out, /(^|[^\\])\(/, 'no unescaped (');
    assert.doesNotMatch(out, /<|\n/);
    assert.doesNotMatch(out, /(^|[^\\])\|/, 'no unescaped table pipe');
    assert.doesNotMatch(out, /(^|[^\\])\$/, 'no theme icon');
    assert.equal(escapeMarkdown('T-shirt/top'), 'T\\-shirt/top');
    assert.equal(codeSpan('a`b\nc'), '`aʼb c`');
  });
});

describe('what a hover points at', () => {
  it('a dotted path in code names a layer by its label or alias, whole or by its tail', () => {
    const layers = [
      { label: 'layer3', aliases: [] },
      { label: 'layer2', aliases: ['layer2.0'] },
      { label: 'layer2.conv1', aliases: [] },
      { label: 'features.norm5', aliases: [] },
      { label: '0.transformer.encoder_10', aliases: ['encoder.layers.encoder_10'] },
    ];
    const cases: [string, string | undefined][] = [
      ['layer3', 'layer3'],
      ['self.layer3', 'layer3'],
      ['self.layer2', 'layer2'],
      ['self.layer2.conv1', 'layer2.conv1'],
      ['model.features.norm5', 'features.norm5'],
      ['features.norm5', 'features.norm5'],
      ['encoder_10', '0.transformer.encoder_10'],
      ['self.encoder.layers.encoder_10', '0.transformer.encoder_10'],
      ['layer31', undefined],
      ['self.layer', undefined],
      ['norm5x', undefined],
    ];
    for (const [p, want] of cases) assert.equal(matchLayer(p, layers), want, p);
  });

  it('the path and the string literal under the cursor', () => {
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
});
