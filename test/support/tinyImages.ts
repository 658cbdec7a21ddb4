// Small grayscale image-folder datasets for the tiny model (8×8, classes circle/square/triangle), made on the fly.
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Dataset } from '../../src/core/data/dataset';
import { openImageFolder } from '../../src/core/data/imageFolder';
import { tempDir } from './paths';

/** Writes `count` 8×8 PNGs into class folders; `pixel(i, p)` gives image i's value at pixel p. */
export async function tinyImageFolder(count: number, pixel: (i: number, p: number) => number, prefix = 'fact-ds-'): Promise<string> {
  const root = tempDir(prefix);
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, ['circle', 'square', 'triangle'][i % 3]!);
    mkdirSync(dir, { recursive: true });
    await sharp(
      Uint8Array.from({ length: 64 }, (_, p) => pixel(i, p) % 256),
      { raw: { width: 8, height: 8, channels: 1 } },
    )
      .png()
      .toFile(path.join(dir, `${i}.png`));
  }
  return root;
}

export async function tinyDataset(count: number, pixel: (i: number, p: number) => number): Promise<Dataset> {
  return openImageFolder(await tinyImageFolder(count, pixel), 'grayscale');
}
