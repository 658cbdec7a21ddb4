import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { initialState, seededNormal } from '../../../src/core/sae/initialWeights';
import type { SaeWeights } from '../../../src/core/sae/saeConfig';
import { SaeEncoder, topkEncode } from '../../../src/core/sae/saeEncoder';

describe('the SAE encoder', () => {
  it('gives the top-k codes and the reconstruction of the TypeScript reference, in batches', async () => {
    const d = 12,
      K = 40,
      k = 5,
      n = 37;
    const s = initialState(d, K, 11);
    const normal = seededNormal(4);
    // Untie the encoder so encoder and decoder are really used separately.
    const wEnc = s.wEnc.map((w) => w + 0.3 * normal());
    const sae: SaeWeights = { cfg: { k, dictSize: K, dModel: d, layer: 'l', modelSha256: 's', inputScale: 1 }, wEnc, wDec: s.wDec };
    const features = Float32Array.from({ length: n * d }, () => 3 * normal());
    const encoder = await SaeEncoder.create(sae, { batchSize: 16 });
    const got = await encoder.encode(features, n);
    const want = topkEncode(sae, features, n);
    assert.deepEqual(got.indices, want.indices);
    for (let i = 0; i < want.values.length; i++)
      assert.ok(Math.abs(got.values[i]! - want.values[i]!) <= 1e-5 * (1 + Math.abs(want.values[i]!)), `value ${i}`);
    for (let i = 0; i < want.reconstruction.length; i++)
      assert.ok(Math.abs(got.reconstruction[i]! - want.reconstruction[i]!) <= 1e-5 * 10, `reconstruction ${i}`);
    // Values are sorted, non-negative, and positively homogeneous: codes of 2z are twice those of z.
    for (let b = 0; b < n; b++)
      for (let j = 1; j < k; j++) assert.ok(got.values[b * k + j]! <= got.values[b * k + j - 1]! && got.values[b * k + j]! >= 0);
    const doubled = await encoder.encode(
      features.map((v) => 2 * v),
      n,
    );
    assert.deepEqual(doubled.indices, got.indices);
    for (let i = 0; i < got.values.length; i++) assert.ok(Math.abs(doubled.values[i]! - 2 * got.values[i]!) <= 1e-5 * (1 + got.values[i]!));
    await encoder.dispose();
  });
});
