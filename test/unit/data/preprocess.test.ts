import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkInputFits, preprocessConfigFor, preprocessImage } from '../../../src/core/data/preprocess';
import type { ImageInput } from '../../../src/core/onnx/inspect';

const grayInput: ImageInput = { name: 'input', channels: 2, height: 4, width: 4, encoding: 'encoded', colorSpace: 'grayscale' };

describe('B-cos preprocessing', () => {
  it('scales to [0, 1], lays out C×H×W and appends the inverse channels', () => {
    const img = { width: 2, height: 2, channels: 3 as const, data: Uint8Array.from([255, 0, 51, 0, 255, 102, 0, 0, 0, 255, 255, 255]) };
    const out = preprocessImage(img, { colorSpace: 'rgb', resize: 2, centerCrop: 2, addInverse: true });
    assert.equal(out.length, 6 * 4);
    const close = (a: ArrayLike<number>, b: number[]) => b.forEach((v, i) => assert.ok(Math.abs(a[i]! - v) < 1e-6, `${a[i]} vs ${v}`));
    close(out.subarray(0, 4), [1, 0, 0, 1]); // r plane
    close(out.subarray(8, 12), [0.2, 0.4, 0, 1]); // b plane
    close(out.subarray(12, 16), [0, 1, 1, 0]); // 1 − r
    for (let i = 0; i < 12; i++) assert.ok(Math.abs(out[i]! + out[i + 12]! - 1) < 1e-6);
  });

  it('resizes the shorter side and takes the centre crop', () => {
    // 8×4 image whose columns count 0..7: resizing the short side 4 → 2 halves the width to 4, and the 2×2 centre
    // crop keeps columns 1..2 of that.
    const data = Uint8Array.from({ length: 32 }, (_, i) => (i % 8) * 30);
    const out = preprocessImage(
      { width: 8, height: 4, channels: 1, data },
      { colorSpace: 'grayscale', resize: 2, centerCrop: 2, addInverse: false },
    );
    assert.equal(out.length, 4);
    assert.ok(out[0]! < out[1]!, 'left to right order is kept');
    assert.ok(Math.abs(out[0]! - out[2]!) < 1e-6, 'rows are equal');
  });

  it('infers preprocessing from the input when there is no card, and takes the card when there is', () => {
    assert.deepEqual(preprocessConfigFor(grayInput, undefined), { colorSpace: 'grayscale', resize: 4, centerCrop: 4, addInverse: true });
    const rgb: ImageInput = { ...grayInput, channels: 6, height: 224, width: 224, colorSpace: 'rgb' };
    const card = { format: 1, name: 'x', model: 'm.onnx', preprocessing: { resize: 256, centerCrop: 224 } };
    assert.deepEqual(preprocessConfigFor(rgb, card), { colorSpace: 'rgb', resize: 256, centerCrop: 224, addInverse: true });
  });

  it('asks for a card when the model takes any image size', () => {
    assert.throws(() => preprocessConfigFor({ ...grayInput, height: null, width: null }, undefined, 'm.onnx'), /takes images of any size/);
  });

  it('reports preprocessing that does not fit the model input', () => {
    assert.throws(
      () => checkInputFits(grayInput, { colorSpace: 'rgb', resize: 4, centerCrop: 4, addInverse: true }, 'm.onnx'),
      /6-channel images but 'm\.onnx' input 'input' takes 2 channels/,
    );
    assert.throws(
      () => checkInputFits(grayInput, { colorSpace: 'grayscale', resize: 8, centerCrop: 8, addInverse: true }),
      /8×8 images .* takes 4×4/,
    );
  });
});
