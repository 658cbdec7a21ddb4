// Names from card.json and file names reach hover markdown as literal text.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { codeSpan, escapeMarkdown } from '../../../src/extension/hover/hoverText';

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
