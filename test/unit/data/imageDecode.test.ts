import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage, decodeImageFile } from '../../../src/core/data/imageDecode';
import { tempDir } from '../../support/paths';

const gradient = Uint8Array.from({ length: 4 * 6 * 3 }, (_, i) => (i * 7) % 256);

describe('image decoding', () => {
  it('decodes a PNG exactly, as RGB and as grayscale', async () => {
    const png = await sharp(gradient, { raw: { width: 6, height: 4, channels: 3 } })
      .png()
      .toBuffer();
    const rgb = await decodeImage(png, 'rgb');
    assert.deepEqual([rgb.width, rgb.height, rgb.channels], [6, 4, 3]);
    assert.deepEqual(Array.from(rgb.data), Array.from(gradient));
    const gray = await decodeImage(png, 'grayscale');
    assert.equal(gray.channels, 1);
    assert.equal(gray.data.length, 24);
  });

  it('decodes a JPEG to nearly the original pixels', async () => {
    const flat = new Uint8Array(16 * 16 * 3).fill(128);
    const jpg = await sharp(flat, { raw: { width: 16, height: 16, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const img = await decodeImage(jpg, 'rgb');
    assert.ok(Array.from(img.data).every((v) => Math.abs(v - 128) <= 2));
  });

  it('flattens transparency onto white', async () => {
    const rgba = Uint8Array.from([0, 0, 0, 0]);
    const png = await sharp(rgba, { raw: { width: 1, height: 1, channels: 4 } })
      .png()
      .toBuffer();
    assert.deepEqual(Array.from((await decodeImage(png, 'rgb')).data), [255, 255, 255]);
  });

  it('names the file of an image that does not decode', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'broken.png');
    const png = await sharp(gradient, { raw: { width: 6, height: 4, channels: 3 } })
      .png()
      .toBuffer();
    writeFileSync(file, png.subarray(0, 30));
    await assert.rejects(
      decodeImageFile(file, 'rgb'),
      (e: Error & { code?: string }) => e.code === 'bad-image' && e.message.startsWith(`Cannot decode the image '${file}'`),
    );
    writeFileSync(path.join(dir, 'text.jpg'), 'not an image');
    await assert.rejects(decodeImageFile(path.join(dir, 'text.jpg'), 'rgb'), /Cannot decode the image/);
  });
});
