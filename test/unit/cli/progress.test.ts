// Progress on a terminal redraws one line; in a log it is at most one plain line per 10 s (a fake clock: no waiting).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createProgressReporter, LOG_INTERVAL_MS, progressText } from '../../../src/cli/progress';

// eslint-disable-next-line no-control-regex -- the escape character is what this test looks for
const ANSI = /\x1b\[/;

describe('CLI progress', () => {
  it('in a log: the first report at once, then at most one line per interval, no ANSI codes', () => {
    let now = 1_000;
    const lines: string[] = [];
    const p = createProgressReporter({ line: (s) => lines.push(s), plain: false, now: () => now });
    for (let i = 0; i < 1000; i++) {
      p.report(`Evaluated ${i}/1000 images`, i / 1000);
      now += 97; // 1000 reports over 97 s
    }
    p.end();
    assert.equal(lines[0], '[  0%] Evaluated 0/1000 images');
    assert.equal(lines.length, Math.floor((1000 * 97) / LOG_INTERVAL_MS) + 1);
    for (const l of lines) assert.doesNotMatch(l, ANSI);
    for (const l of lines) assert.doesNotMatch(l, /\r/);
  });

  it('on a terminal: one line redrawn in place, cleared at the end', () => {
    let written = '';
    const p = createProgressReporter({
      terminal: {
        write: (s) => {
          written += s;
        },
        columns: 40,
      },
      line: () => assert.fail('no whole lines on a terminal'),
      plain: false,
      now: () => 0,
    });
    p.report('Tracing concepts: 1/3 images', 1 / 3);
    p.report('Tracing concepts: 2/3 images and a message longer than the terminal is wide', 2 / 3);
    p.end();
    assert.doesNotMatch(written, /\n/);
    const frames = written.split('\r').filter(Boolean);
    assert.equal(frames[0], '[ 33%] Tracing concepts: 1/3 images\x1b[K');
    assert.ok(frames[1]!.replace('\x1b[K', '').length <= 39, 'a frame fits the terminal');
    assert.equal(frames.at(-1), '\x1b[K');
  });

  it('NO_COLOR: the terminal redraw uses no escape codes (spaces overwrite a longer previous frame)', () => {
    let written = '';
    const p = createProgressReporter({
      terminal: {
        write: (s) => {
          written += s;
        },
        columns: 80,
      },
      line: () => undefined,
      plain: true,
      now: () => 0,
    });
    p.report('a long first message');
    p.report('short');
    p.end();
    assert.doesNotMatch(written, ANSI);
    assert.equal(written, `\ra long first message\rshort${' '.repeat(15)}\r${' '.repeat(5)}\r`);
  });

  it('progressText: a percentage only when the fraction is known', () => {
    assert.equal(progressText('Analysing the model'), 'Analysing the model');
    assert.equal(progressText('x', 1), '[100%] x');
    assert.equal(progressText('x', Number.NaN), 'x');
  });
});
