import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isFactError } from '../../../src/core/errors';
import { learningRateAt, lrSchedule, resolveTrainSettings, type TrainSettingsInput } from '../../../src/core/sae/saeConfig';

const base: TrainSettingsInput = { k: 16, dictSize: 2048, layer: 'layer4', modelSha256: 'abc' };

describe('SAE settings', () => {
  it("fill in FaCT's recipe", () => {
    const s = resolveTrainSettings(base);
    assert.deepEqual(
      [s.lr, s.warmupEpochs, s.constantUntilEpoch, s.auxkCoef, s.auxkMax, s.clipNorm, s.beta1, s.beta2, s.epochs, s.scaleBatches],
      [1e-3, 1, 2, 1 / 32, 256, 1, 0.9, 0.999, 16, 550],
    );
  });

  for (const [what, change, pattern] of [
    ['k > dictSize', { k: 4096 }, /k = 4096 is larger than the dictionary \(2048 latents\)/],
    ['k ≤ 0', { k: 0 }, /k must be a positive integer, not 0/],
    ['fractional k', { k: 1.5 }, /k must be a positive integer/],
    ['empty dictionary', { dictSize: 0 }, /dictionary size must be a positive integer/],
    ['batch of one', { batchSize: 1 }, /"batchSize" must be an integer ≥ 2/],
    ['zero epochs', { epochs: 0 }, /"epochs" must be an integer ≥ 1/],
    ['negative lr', { lr: -1 }, /"lr" must be a positive number/],
    [
      'decay before warm-up ends',
      { warmupEpochs: 3, constantUntilEpoch: 2 },
      /"constantUntilEpoch" \(2\) comes before the end of the warm-up \(3\)/,
    ],
    ['warm-up as long as training', { epochs: 1, warmupEpochs: 1, constantUntilEpoch: 1 }, /warm-up \(1 epochs\) must be shorter/],
    ['beta of 1', { beta2: 1 }, /"beta2" must be in \[0, 1\)/],
    ['no clip', { clipNorm: 0 }, /"clipNorm" must be positive/],
    ['no layer', { layer: '' }, /"layer" must name the layer/],
  ] as const) {
    it(`refuse ${what}`, () => {
      assert.throws(
        () => resolveTrainSettings({ ...base, ...change }),
        (e: unknown) => isFactError(e) && e.code === 'bad-input' && pattern.test(e.message),
      );
    });
  }

  it('schedule the learning rate: linear warm-up, constant, cosine to 0 (in steps of whole epochs)', () => {
    const s = lrSchedule(resolveTrainSettings({ ...base, lr: 1, epochs: 4, warmupEpochs: 1, constantUntilEpoch: 2 }), 10);
    assert.deepEqual(s, { lr: 1, warmupSteps: 10, decayStart: 20, totalSteps: 40 });
    assert.equal(learningRateAt(0, s), 0.1);
    assert.equal(learningRateAt(4, s), 0.5);
    assert.equal(learningRateAt(9, s), 1);
    assert.equal(learningRateAt(15, s), 1);
    assert.equal(learningRateAt(20, s), 1);
    assert.ok(Math.abs(learningRateAt(30, s) - 0.5) < 1e-12);
    assert.ok(learningRateAt(39, s) < 0.01 && learningRateAt(39, s) > 0);
    const noDecay = lrSchedule(resolveTrainSettings({ ...base, lr: 1, epochs: 2, warmupEpochs: 0, constantUntilEpoch: 2 }), 10);
    assert.equal(learningRateAt(0, noDecay), 1);
    assert.equal(learningRateAt(19, noDecay), 1);
  });
});
