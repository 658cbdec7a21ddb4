import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { conceptConsistency, positivePart, randomTrace, selectTopImages, weightedEncoding } from '../../../src/core/consistency/c2Score';
import { seededRandom } from '../../support/denseJacobian';

describe('the C² consistency score', () => {
  it('is 1 for identical encodings and 0 for orthogonal ones', () => {
    assert.ok(
      Math.abs(
        conceptConsistency(
          [
            [1, 2, 3],
            [1, 2, 3],
            [2, 4, 6],
          ],
          [1, 2, 3],
        ) - 1,
      ) < 1e-12,
    );
    assert.ok(
      Math.abs(
        conceptConsistency(
          [
            [1, 0, 0],
            [0, 1, 0],
            [0, 0, 1],
          ],
          [1, 1, 1],
        ),
      ) < 1e-12,
    );
  });

  it('weights pairs by the product of presences and leaves out self-pairs', () => {
    // Pairs: (a,b) cos 1, (a,c) and (b,c) cos 0. Weights 1,1,w: C = 2·1 / (2·1 + 4w).
    for (const w of [0.5, 1, 4]) {
      const c = conceptConsistency(
        [
          [1, 0],
          [1, 0],
          [0, 1],
        ],
        [1, 1, w],
      );
      assert.ok(Math.abs(c - 2 / (2 + 4 * w)) < 1e-12, `w=${w}: ${c}`);
    }
  });

  it('subtracts the dataset mean before comparing', () => {
    // Encodings that share a large common offset look consistent until the offset is removed.
    const e = [
      [10, 1, 0],
      [10, -1, 0],
      [10, 0, 1],
    ];
    assert.ok(conceptConsistency(e, [1, 1, 1]) > 0.9);
    const centred = conceptConsistency(e, [1, 1, 1], [10, 0, 0]);
    assert.ok(Math.abs(centred - (-1 + 0 + 0) / 3) < 1e-12, `${centred}`);
  });

  it('averages foundation features with the positive part of the trace as spatial weights', () => {
    const features = Float32Array.from([1, 2, 3, 4, /* dim 1 */ 0, 0, 1, 1]);
    const a = positivePart([1, -5, 0, 1]);
    assert.deepEqual(Array.from(weightedEncoding(a, features, 2)), [2.5, 0.5]);
    assert.deepEqual(Array.from(weightedEncoding([0, 0, 0, 0], features, 2)), [0, 0]);
  });

  it('selects the top 5% of images by presence, but at least about 10, and all of them when few are present', () => {
    const presence = Array.from({ length: 1000 }, (_, i) => (i % 2 ? i : 0));
    const top = selectTopImages(presence);
    // 500 positive presences: the 95% quantile keeps the top 25.
    assert.equal(top.length, 25);
    assert.equal(top[0], 999);
    const few = selectTopImages([0, 3, 0, 1, 2]);
    assert.deepEqual(few, [1, 4, 3]);
    const some = Array.from({ length: 40 }, (_, i) => i + 1);
    assert.equal(selectTopImages(some).length, 10, 'the 11th largest caps the threshold when 5% is fewer than 10');
  });

  it('random traces are in [t, 1] for a per-image floor t', () => {
    const r = randomTrace(100, seededRandom(3));
    const min = Math.min(...r);
    assert.ok(r.every((v) => v >= min && v <= 1));
    assert.ok(r.filter((v) => v === min).length > 1, 'the floor is hit by several pixels');
  });
});

import { pullBack, upsample } from '../../../src/core/consistency/bilinear';

describe('bilinear upsampling for C²', () => {
  it('matches align_corners=False interpolation at known points', () => {
    // 2×2 → 4×4: the corners copy the corner values, inner pixels interpolate at 1/4 and 3/4.
    const u = upsample([0, 1, 2, 3], 2, 2, 4, 4);
    assert.deepEqual(Array.from(u.subarray(0, 4)), [0, 0.25, 0.75, 1]);
    assert.equal(u[15], 3);
  });

  it('pulling the weights back gives the same weighted average as upsampling the features', () => {
    const rand = (() => {
      let s = 7;
      return () => (s = (s * 48271) % 2147483647) / 2147483647;
    })();
    const [h, w, H, W, D] = [3, 5, 14, 11, 4];
    const f = Float32Array.from({ length: D * h * w }, rand);
    const a = Array.from({ length: H * W }, () => Math.max(0, rand() - 0.3));
    const direct = Array.from({ length: D }, (_, d) => {
      const up = upsample(f.subarray(d * h * w, (d + 1) * h * w), h, w, H, W);
      return up.reduce((s, v, p) => s + v * a[p]!, 0) / a.reduce((s, v) => s + v, 0);
    });
    const weights = pullBack(a, H, W, h, w);
    const fast = weightedEncoding(weights, f, D).map((v) => (v * weights.reduce((s, x) => s + x, 0)) / a.reduce((s, x) => s + x, 0));
    direct.forEach((v, d) => assert.ok(Math.abs(v - fast[d]!) < 1e-9, `${v} vs ${fast[d]}`));
    assert.ok(Math.abs(weights.reduce((s, x) => s + x, 0) - a.reduce((s, x) => s + x, 0)) < 1e-9, 'interpolation weights sum to one');
  });
});
