// PNG output for rendered images (through sharp), optionally upscaled with nearest-neighbour so small inputs
// (28×28) stay crisp, and composed side by side for reports.
import sharp from 'sharp';
import type { RgbaImage } from './colorMap';

export function toRgba8(img: RgbaImage): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < img.data.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, img.data[i]!)) * 255);
  return out;
}

export async function rgbaToPng(img: RgbaImage, scale = 1): Promise<Buffer> {
  let s = sharp(toRgba8(img), { raw: { width: img.width, height: img.height, channels: 4 } });
  if (scale > 1) s = s.resize(img.width * scale, img.height * scale, { kernel: 'nearest' });
  return s.png().toBuffer();
}

/** The explained input (first half of the channels) as an RGBA image. */
export function inputToRgba(input: Float32Array, channels: number, height: number, width: number): RgbaImage {
  const k = channels === 2 || channels === 6 ? channels / 2 : channels;
  const plane = height * width;
  const data = new Float32Array(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = input[(k === 3 ? c : 0) * plane + p]!;
    data[p * 4 + 3] = 1;
  }
  return { width, height, data };
}

/** Puts images of equal height next to each other with a gap, on a transparent background. */
export async function sideBySide(images: Buffer[], gap = 8): Promise<Buffer> {
  const metas = await Promise.all(images.map((b) => sharp(b).metadata()));
  const height = Math.max(...metas.map((m) => m.height ?? 0));
  const width = metas.reduce((a, m) => a + (m.width ?? 0), 0) + gap * (images.length - 1);
  let left = 0;
  const composite = images.map((input, i) => {
    const c = { input, left, top: 0 };
    left += (metas[i]!.width ?? 0) + gap;
    return c;
  });
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite(composite)
    .png()
    .toBuffer();
}
