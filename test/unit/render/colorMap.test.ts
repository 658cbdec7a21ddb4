import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { boxFilter, explanationToRgba, quantile, traceOnBlack } from '../../../src/core/render/colorMap';

describe('the B-cos colour map', () => {
  it('quantile interpolates linearly between ranks, as torch.quantile does', () => {
    assert.equal(quantile([3, 1, 2, 4], 0.5), 2.5);
    assert.ok(Math.abs(quantile([0, 10], 0.995) - 9.95) < 1e-12);
    assert.equal(quantile([5], 0.3), 5);
  });

  it('box filter averages with zero padding counted (avg_pool2d defaults)', () => {
    const a = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const f = boxFilter(a, 3, 3, 3);
    assert.ok(Math.abs(f[4]! - 5) < 1e-12);
    assert.ok(Math.abs(f[0]! - (1 + 2 + 4 + 5) / 9) < 1e-12);
  });

  it('colours each pixel by the positive parts of [x, 1 − x] weights and hides negative contributions', () => {
    // 6 channels, 1×3 image. Pixel 0: weights only on r (positive) → pure red. Pixel 1: on 1 − g → black in g.
    // Pixel 2: positive weights but negative contribution → transparent.
    const w = new Float32Array(6 * 3);
    const x = new Float32Array(6 * 3).fill(0.5);
    w[0 * 3 + 0] = 2; // r, pixel 0
    w[4 * 3 + 1] = 1; // 1 − g, pixel 1
    w[0 * 3 + 2] = 1;
    w[3 * 3 + 2] = -3; // pixel 2: contribution 0.5 − 1.5 < 0
    const img = explanationToRgba(w, x, 6, 1, 3, { smooth: 1, alphaPercentile: 100 });
    const px = (p: number) => Array.from(img.data.subarray(p * 4, p * 4 + 4)).map((v) => Math.round(v * 1000) / 1000);
    assert.deepEqual(px(0).slice(0, 3), [1, 0, 0]);
    assert.deepEqual(px(1).slice(0, 3), [0, 0, 0]);
    assert.equal(px(0)[3], 1, 'the largest norm is fully opaque');
    assert.equal(px(1)[3], 0.5);
    assert.equal(px(2)[3], 0);
  });

  it('renders grayscale explanations in gray', () => {
    const w = Float32Array.from([1, 0.25, 0, 0.25]); // channel-major: x then 1 − x, pixels 0 and 1
    const img = explanationToRgba(w, Float32Array.from([0.5, 0.5, 0.5, 0.5]), 2, 1, 2, { smooth: 1 });
    assert.deepEqual(Array.from(img.data.subarray(0, 3)), [1, 1, 1]);
    const half = Array.from(img.data.subarray(4, 7));
    assert.ok(half.every((v) => Math.abs(v - 0.5) < 1e-6));
  });
});

describe('traceOnBlack (the one contrast stretch of concept traces)', () => {
  it('composites on black by opacity, then scales so that the brightest channel of the lit pixels reaches 1, keeping the hue', () => {
    const img = { width: 3, height: 1, data: Float32Array.from([0.5, 0.5, 0.5, 0.8, /**/ 0.5, 0.25, 0, 0.4, /**/ 1, 1, 1, 0]) };
    const t = traceOnBlack(img, 100);
    // On black: 0.4 gray, (0.2, 0.1, 0) and black; the brightest channel (0.4) becomes 1.
    assert.deepEqual(
      Array.from(t.data, (v) => Math.round(v * 1000) / 1000),
      [1, 1, 1, 1, 0.5, 0.25, 0, 1, 0, 0, 0, 1],
    );
  });

  it('stretches to a percentile of the lit pixels, so that one hot pixel does not keep the rest dim', () => {
    // 199 pixels at 0.2 and one at 1 (all opaque gray): the 99th percentile is 0.2, so the 199 become 1 and the hot one clips.
    const data = new Float32Array(200 * 4);
    for (let p = 0; p < 200; p++) data.set([0.2, 0.2, 0.2, 1], p * 4);
    data.set([1, 1, 1, 1], 0);
    const t = traceOnBlack({ width: 200, height: 1, data });
    assert.ok(Math.abs(t.data[4]! - 1) < 1e-6 && t.data[0] === 1);
  });

  it('leaves an all-black trace black', () => {
    const t = traceOnBlack({ width: 1, height: 1, data: Float32Array.from([0.3, 0.3, 0.3, 0]) });
    assert.deepEqual(Array.from(t.data), [0, 0, 0, 1]);
  });
});
