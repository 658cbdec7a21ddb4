// The SAE shape Train SAE proposes for a feature store.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { defaultSaeShape } from '../../../../src/extension/sae/saeFiles';

describe('SAE files', () => {
  it('default SAE shape: 8 concepts per channel, k one per 128 concepts, a batch that fits the store', () => {
    assert.deepEqual(defaultSaeShape(128, 882_000), { k: 8, dictSize: 1024, batchSize: 4096 });
    assert.deepEqual(defaultSaeShape(8, 3072), { k: 2, dictSize: 64, batchSize: 256 });
    assert.deepEqual(defaultSaeShape(768, 10_000_000), { k: 48, dictSize: 6144, batchSize: 4096 });
  });
});
