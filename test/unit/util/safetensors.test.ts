import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseSafetensors, serializeSafetensors } from '../../../src/core/util/safetensors';
import { floatToHalf, fromHalfArray, halfToFloat, toHalfArray } from '../../../src/core/features/float16';

describe('safetensors', () => {
  it('round-trips tensors of several dtypes, from a Buffer view as fs.readFile gives', () => {
    const bytes = serializeSafetensors(
      {
        w: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        ids: { shape: [2], data: Int32Array.from([7, -8]) },
        big: { shape: [1], data: BigInt64Array.from([123n]) },
      },
      { note: 'x' },
    );
    const padded = Buffer.concat([Buffer.alloc(5), Buffer.from(bytes)]).subarray(5);
    const f = parseSafetensors(padded);
    assert.deepEqual(Array.from(f.tensors.w!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(f.tensors.ids!.data as Int32Array), [7, -8]);
    assert.equal((f.tensors.big!.data as BigInt64Array)[0], 123n);
    assert.equal(f.metadata.note, 'x');
    // The header is padded so the data starts 8-byte aligned.
    assert.equal((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8, 0);
  });

  it('names a truncated file', () => {
    const bytes = serializeSafetensors({ w: { shape: [4], data: new Float32Array(4) } });
    assert.throws(
      () => parseSafetensors(bytes.subarray(0, bytes.length - 4), 'sae.safetensors'),
      /'sae\.safetensors' is not a valid safetensors file: tensor 'w' ends at byte 16 but the data holds 12 bytes \(truncated\?\)/,
    );
    assert.throws(() => parseSafetensors(bytes.subarray(0, 20), 'x'), /header claims/);
  });
});

describe('float16', () => {
  it('rounds to nearest even and handles the edges', () => {
    assert.equal(floatToHalf(1), 0x3c00);
    assert.equal(floatToHalf(-2), 0xc000);
    assert.equal(floatToHalf(65504), 0x7bff);
    assert.equal(floatToHalf(1e6), 0x7c00);
    assert.equal(halfToFloat(floatToHalf(2 ** -24)), 2 ** -24);
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00, 'a tie rounds to even');
    const xs = Float32Array.from([0.1, -3.14159, 1234.5, 6e-5]);
    const back = fromHalfArray(toHalfArray(xs));
    xs.forEach((x, i) => assert.ok(Math.abs(back[i]! - x) <= Math.abs(x) * 2 ** -11 + 1e-7));
  });
});
