// Small PNG thumbnails for hovers (a hover's Markdown is capped at ~100 KB, and data: images count). sharp is loaded
// on first use only; without it the pictures are left out rather than sent at full size.
import type sharpDefault from 'sharp';

type Sharp = typeof sharpDefault;
let loaded: Promise<Sharp | undefined> | undefined;

function sharp(): Promise<Sharp | undefined> {
  loaded ??= import('sharp').then(
    (m) => (m as unknown as { default?: Sharp }).default ?? (m as unknown as Sharp),
    () => undefined,
  );
  return loaded;
}

/**
 * The first `pairs` images of an atlas strip (inputs above, traces below) as one row: each input followed by its
 * trace, `cell` pixels square — a hover line's height.
 */
export async function stripThumbnail(pngBase64: string, pairs: number, cell: number): Promise<string | undefined> {
  const s = await sharp();
  if (!s) return undefined;
  const buf = Buffer.from(pngBase64, 'base64');
  const meta = await s(buf).metadata();
  if (!meta.width || !meta.height) return undefined;
  const src = Math.floor(meta.height / 2);
  const n = Math.max(1, Math.min(pairs, Math.floor(meta.width / src)));
  const tile = (i: number, row: number) =>
    s(buf)
      .extract({ left: i * src, top: row * src, width: src, height: src })
      .resize(cell, cell, { kernel: 'nearest' })
      .png()
      .toBuffer();
  const composite = [];
  for (let i = 0; i < n; i++) {
    composite.push({ input: await tile(i, 0), left: 2 * i * cell, top: 0 }, { input: await tile(i, 1), left: (2 * i + 1) * cell, top: 0 });
  }
  const out = await s({ create: { width: 2 * n * cell, height: cell, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 1 } } })
    .composite(composite)
    .png({ compressionLevel: 9 })
    .toBuffer();
  return out.toString('base64');
}

/** A square picture shrunk to `size` pixels (nearest neighbour: these are small, pixel-exact images). */
export async function squareThumbnail(pngBase64: string, size: number, background?: string): Promise<string | undefined> {
  const s = await sharp();
  if (!s) return undefined;
  let img = s(Buffer.from(pngBase64, 'base64'));
  if (background) img = img.flatten({ background });
  const out = await img.resize(size, size, { kernel: 'nearest', fit: 'fill' }).png({ compressionLevel: 9 }).toBuffer();
  return out.toString('base64');
}

/** An image file as a small PNG thumbnail. */
export async function fileThumbnail(file: string, size: number): Promise<string | undefined> {
  const s = await sharp();
  if (!s) return undefined;
  const out = await s(file).resize(size, size, { kernel: 'nearest', fit: 'inside' }).png({ compressionLevel: 9 }).toBuffer();
  return out.toString('base64');
}
