// Half-precision conversion of whole arrays (the feature shards) against the element-wise reference.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { floatToHalf, gatherHalfInto, toHalfArray } from '../../../src/core/features/float16';

describe('float16 arrays', () => {
  it('convert exactly as floatToHalf does, including ties, carries, subnormals, overflow, Inf and NaN', () => {
    let s = 12345;
    const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
    const bits = new Uint32Array(200_000);
    for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(rand() * 4294967296) >>> 0;
    // Exact ties and all-ones mantissas (rounding carries into the exponent), around the normal/subnormal edges.
    for (let e = 100; e <= 145; e++)
      for (const m of [0x1000, 0x3000, 0x7fffff, 0x7ff000, 0x7fefff, 0])
        bits.set([(e << 23) | m, 0x80000000 | (e << 23) | m], (e - 100) * 12 + (m % 6) * 2);
    const values = new Float32Array(bits.buffer);
    const extra = Float32Array.of(
      0,
      -0,
      65504,
      65519.99,
      65520,
      -65520,
      6.1035156e-5,
      6.0975552e-5,
      5.96e-8,
      2.98e-8,
      Infinity,
      -Infinity,
      NaN,
      1e-40,
    );
    for (const a of [values, extra, values.subarray(3, 1003)]) {
      const got = toHalfArray(a);
      for (let i = 0; i < a.length; i++)
        assert.equal(
          got[i],
          floatToHalf(a[i]!),
          `value ${a[i]} (bits 0x${new Uint32Array(Float32Array.of(a[i]!).buffer)[0]!.toString(16)})`,
        );
    }
  });

  it('gather vectors from C×H×W and token maps at any rows, as the rows converted one by one', () => {
    const [dim, locations, images] = [5, 7, 3];
    const map = Float32Array.from({ length: dim * locations * images }, (_, i) => Math.sin(i * 12.9898) * 70000 * 0.01 ** (i % 4));
    const rows = [6, 0, 3];
    for (const [cStride, pStride] of [
      [locations, 1],
      [1, dim],
    ] as const) {
      const offset = 2 * dim * locations;
      const out = new Uint16Array(2 + rows.length * dim).fill(0xffff);
      gatherHalfInto(map, offset, cStride, pStride, rows, dim, out, 2);
      assert.deepEqual([out[0], out[1]], [0xffff, 0xffff], 'nothing before `at` is written');
      rows.forEach((p, r) => {
        for (let c = 0; c < dim; c++)
          assert.equal(out[2 + r * dim + c], floatToHalf(map[offset + c * cStride + p * pStride]!), `row ${r}, c ${c}`);
      });
    }
  });
});
