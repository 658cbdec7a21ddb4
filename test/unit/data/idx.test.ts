import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseIdx, readIdxFile } from '../../../src/core/data/idx';
import { tempDir } from '../../support/paths';

function idxBytes(type: number, dims: number[], payload: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, k) => header.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([header, payload]);
}

describe('IDX files', () => {
  const images = idxBytes(0x08, [2, 2, 3], Uint8Array.from([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]));

  it('reads uint8 images, plain and gzipped', () => {
    for (const bytes of [images, gzipSync(images)]) {
      const t = parseIdx(bytes);
      assert.deepEqual(t.dims, [2, 2, 3]);
      assert.equal(t.type, 'uint8');
      assert.deepEqual(Array.from(t.data), [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
    }
  });

  it('reads big-endian int32 and float32 data', () => {
    const i32 = Buffer.alloc(8);
    i32.writeInt32BE(-7, 0);
    i32.writeInt32BE(123456, 4);
    assert.deepEqual(Array.from(parseIdx(idxBytes(0x0c, [2], i32)).data), [-7, 123456]);
    const f32 = Buffer.alloc(4);
    f32.writeFloatBE(1.5, 0);
    assert.deepEqual(Array.from(parseIdx(idxBytes(0x0d, [1], f32)).data), [1.5]);
  });

  it('rejects a wrong magic number, naming the file', () => {
    const bad = Buffer.from(images);
    bad[0] = 0x50;
    bad[1] = 0x4b;
    assert.throws(
      () => parseIdx(bad, 'labels.idx'),
      (e: Error & { code?: string }) => e.code === 'bad-idx' && /'labels\.idx'.*wrong magic number 0x504b0803/.test(e.message),
    );
    const badType = Buffer.from(images);
    badType[2] = 0x07;
    assert.throws(() => parseIdx(badType), /wrong magic number/);
  });

  it('rejects truncated data and a truncated gzip stream', () => {
    assert.throws(() => parseIdx(images.subarray(0, images.length - 3), 'x.idx'), /data is truncated: 9 of 12 bytes for dims \[2, 2, 3\]/);
    assert.throws(() => parseIdx(images.subarray(0, 10)), /header is truncated|data is truncated/);
    const gz = gzipSync(images);
    assert.throws(() => parseIdx(gz.subarray(0, gz.length - 8), 'x.gz'), /gzip stream is damaged or truncated/);
  });

  it('reads from disk and reports a missing file', async () => {
    const f = path.join(tempDir(), 'imgs-idx3-ubyte.gz');
    writeFileSync(f, gzipSync(images));
    assert.deepEqual((await readIdxFile(f)).dims, [2, 2, 3]);
    await assert.rejects(readIdxFile(`${f}.missing`), /does not exist/);
  });
});
