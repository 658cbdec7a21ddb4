// How the tree describes an SAE checkpoint.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkpointFacts, describeCheckpoint } from '../../../../src/extension/tree/saeCheckpoints';

describe('SAE checkpoints in the tree', () => {
  it('a checkpoint reads as k, size, accuracy with the SAE, mean C² and FVU', () => {
    const c = {
      dir: '/m/saes/layer3',
      name: 'layer3',
      k: 8,
      dictSize: 1024,
      metrics: {},
      evaluation: { accuracy: 0.92, accuracyWithSae: 0.9012, images: 10000 },
      consistency: { mean: 0.6123, randomMean: 0.41 },
      fvu: { value: 0.1234, source: 'training' as const },
    };
    assert.equal(describeCheckpoint(c), 'k 8 · 1,024 latents · acc 90.1 % · C² 0.612 · FVU 0.123');
    assert.deepEqual(
      checkpointFacts(c).map((f) => f.long),
      [
        'Accuracy with the SAE: 90.1 % (without: 92.0 %) on 10,000 images',
        'Mean C²: 0.612 (random traces: 0.410, Δ 0.202)',
        'FVU: 0.123 (last training report)',
      ],
    );
    const { evaluation: _evaluation, consistency: _consistency, fvu: _fvu, ...unmeasured } = c;
    assert.equal(describeCheckpoint({ ...unmeasured, resumable: true }), 'k 8 · 1,024 latents · interrupted');
  });
});
