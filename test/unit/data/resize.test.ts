import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { resizeBilinear } from '../../../src/core/data/resize';

/** The definition, evaluated directly in 2-D: each output pixel is a normalised triangle-weighted sum of inputs. */
function naiveResize(data: number[], w: number, h: number, ow: number, oh: number): number[] {
  const weights = (inSize: number, outSize: number, o: number) => {
    const scale = inSize / outSize;
    const support = Math.max(scale, 1);
    const centre = (o + 0.5) * scale;
    const ws = Array.from({ length: inSize }, (_, i) => Math.max(0, 1 - Math.abs(i + 0.5 - centre) / support));
    const total = ws.reduce((a, b) => a + b, 0);
    return ws.map((x) => x / total);
  };
  const out: number[] = [];
  for (let y = 0; y < oh; y++) {
    const wy = weights(h, oh, y);
    for (let x = 0; x < ow; x++) {
      const wx = weights(w, ow, x);
      let acc = 0;
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) acc += wy[i]! * wx[j]! * data[i * w + j]!;
      out.push(acc);
    }
  }
  return out;
}

describe('antialiased bilinear resize', () => {
  const w = 13,
    h = 9;
  const data = Array.from({ length: w * h }, (_, i) => (i * 37) % 256);

  for (const [ow, oh] of [
    [5, 4],
    [26, 18],
    [13, 9],
    [7, 20],
  ] as const) {
    it(`matches the 2-D definition for ${w}×${h} → ${ow}×${oh}`, () => {
      const got = resizeBilinear({ width: w, height: h, channels: 1, data }, ow, oh).data;
      const want = naiveResize(data, w, h, ow, oh);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-3, `pixel ${i}: ${got[i]} vs ${want[i]}`);
    });
  }

  it('keeps a constant image constant and averages a fine checkerboard when shrinking', () => {
    const flat = resizeBilinear({ width: 10, height: 10, channels: 3, data: new Array(300).fill(200) }, 3, 7).data;
    assert.ok(flat.every((v) => Math.abs(v - 200) < 1e-3));
    const checker = Array.from({ length: 64 * 64 }, (_, i) => (((i % 64) + Math.floor(i / 64)) % 2 ? 255 : 0));
    const small = resizeBilinear({ width: 64, height: 64, channels: 1, data: checker }, 8, 8).data;
    assert.ok(
      small.every((v) => Math.abs(v - 127.5) < 2),
      'no aliasing',
    );
  });
});
