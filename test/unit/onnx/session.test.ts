import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../../../src/core/onnx/modelFile';
import { openSession } from '../../../src/core/onnx/session';
import { SessionCache } from '../../../src/core/onnx/sessionCache';
import { encodeWithExtraOutputs } from '../../../src/core/onnx/surgery';
import { buildTinyBcosModel } from '../../support/tinyBcos';

function encodedInput(n: number, seed = 1): Float32Array {
  const plane = 64;
  const out = new Float32Array(n * 2 * plane);
  let s = seed;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < plane; i++) {
      s = (s * 16807) % 2147483647;
      const v = s / 2147483647;
      out[b * 2 * plane + i] = v;
      out[b * 2 * plane + plane + i] = 1 - v;
    }
  }
  return out;
}

describe('sessions and surgery', () => {
  it('taps an intermediate tensor without changing the logits', async () => {
    const model = buildTinyBcosModel();
    const plain = await openSession(encodeModel(model));
    const tapped = await openSession(encodeWithExtraOutputs(model, ['layer2', '/layer3/Mul_1:0']));
    const feeds = { input: new ort.Tensor('float32', encodedInput(2), [2, 2, 8, 8]) };
    const a = await plain.session.run(feeds);
    const b = await tapped.session.run(feeds);
    assert.deepEqual(Array.from(b.logits!.data as Float32Array), Array.from(a.logits!.data as Float32Array));
    assert.deepEqual(b.layer2!.dims, [2, 8, 8, 8]);
    assert.deepEqual(b['/layer3/Mul_1:0']!.dims, [2, 16, 4, 4]);
  });

  it('refuses to tap a tensor the model does not have', () => {
    assert.throws(() => encodeWithExtraOutputs(buildTinyBcosModel(), ['nope']), /no tensor 'nope'/);
  });

  it('falls back to the CPU, with a reason, when the CUDA provider cannot start', async () => {
    const opened = await openSession(encodeModel(buildTinyBcosModel()), { executionProvider: 'cuda' });
    // On machines with CUDA installed this takes the first branch; here (no CUDA libraries) the second.
    if (opened.executionProvider === 'cuda') assert.equal(opened.fallbackReason, undefined);
    else
      assert.match(
        opened.fallbackReason ?? '',
        /^cuda is not available: .*libonnxruntime_providers_cuda\.so.* Running on the CPU instead\.$/,
      );
    const r = await opened.session.run({ input: new ort.Tensor('float32', encodedInput(1), [1, 2, 8, 8]) });
    assert.equal(r.logits!.dims[1], 3);
  });

  it('caches sessions and releases the least recently used', async () => {
    const cache = new SessionCache(2);
    const bytes = encodeModel(buildTinyBcosModel());
    let created = 0;
    const make = () => {
      created++;
      return openSession(bytes);
    };
    const a = await cache.get('a', make);
    assert.equal(await cache.get('a', make), a);
    await cache.get('b', make);
    await cache.get('c', make);
    assert.equal(cache.size, 2);
    assert.equal(created, 3);
    await cache.get('a', make);
    assert.equal(created, 4, 'a was evicted and recreated');
    await cache.clear();
  });
});
