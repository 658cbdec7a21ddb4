// The one seeded generator: the sequences it fed before it was shared are unchanged (a seed keeps naming the same
// sampled locations and the same starting dictionary).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mulberry32 } from '../../../src/core/util/random';
import { seededUniform } from '../../../src/core/features/sampleLocations';
import { seededNormal } from '../../../src/core/sae/initialWeights';

describe('mulberry32', () => {
  it('gives the sequences the location sampler and the initial dictionary had before', () => {
    const u = seededUniform(12345);
    assert.deepEqual([u(), u(), u()], [0.5975837109144777, 0.6314287825953215, 0.6228211561683565]);
    const n = seededNormal(7);
    assert.deepEqual([n(), n(), n()], [2.7593729831156204, 1.1319811194194094, -0.0680513561837266]);
  });

  it('yields 32-bit unsigned integers', () => {
    const next = mulberry32(1);
    for (let i = 0; i < 1000; i++) {
      const v = next();
      assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
    }
  });
});
