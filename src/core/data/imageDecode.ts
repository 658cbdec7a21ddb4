// Image decoding through sharp (libvips): PNG, JPEG and the other formats it reads, to 8-bit gray or RGB pixels.
import sharp from 'sharp';
import { FactError } from '../errors';
import { readFileOrThrow } from '../util/files';
import type { RawImage } from './rawImage';

export async function decodeImageFile(file: string, colorSpace: 'grayscale' | 'rgb'): Promise<RawImage> {
  const bytes = await readFileOrThrow(file, 'image');
  return decodeImage(bytes, colorSpace, file);
}

export async function decodeImage(bytes: Uint8Array, colorSpace: 'grayscale' | 'rgb', source = 'image'): Promise<RawImage> {
  try {
    // Flatten transparency onto white (as PIL's convert does for typical datasets), then fix the channel count.
    let img = sharp(bytes, { failOn: 'error' }).flatten({ background: '#ffffff' });
    img = colorSpace === 'grayscale' ? img.grayscale() : img.toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    const want = colorSpace === 'grayscale' ? 1 : 3;
    if (info.channels !== want) throw new Error(`decoded to ${info.channels} channels instead of ${want}`);
    return { width: info.width, height: info.height, channels: want, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    throw new FactError('bad-image', `Cannot decode the image '${source}': ${(e as Error).message.replace(/\s+/g, ' ').trim()}.`, {
      file: source,
    });
  }
}
