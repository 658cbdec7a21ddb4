// An image-folder dataset: one subfolder per class (sorted by name, as torchvision's ImageFolder does), PNG and
// JPEG files inside.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError } from '../errors';
import type { Dataset, DatasetItem } from './dataset';
import { decodeImageFile } from './imageDecode';
import type { RawImage } from './rawImage';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase());
}

export async function openImageFolder(root: string, colorSpace: 'grayscale' | 'rgb'): Promise<Dataset> {
  let entries;
  try {
    entries = await fs.readdir(root, { withFileTypes: true });
  } catch {
    throw new FactError('file-missing', `The dataset folder '${root}' does not exist or cannot be read.`, { file: root });
  }
  const classes = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classes.length === 0) {
    throw new FactError(
      'bad-dataset',
      `'${root}' has no class subfolders; an image-folder dataset has one subfolder per class with PNG/JPEG files inside.`,
      { file: root },
    );
  }
  const files: { file: string; label: number }[] = [];
  for (const [label, cls] of classes.entries()) {
    const names = (await fs.readdir(path.join(root, cls))).filter(isImageFile).sort();
    for (const n of names) files.push({ file: path.join(root, cls, n), label });
  }
  if (files.length === 0)
    throw new FactError('bad-dataset', `'${root}' has class folders but no PNG or JPEG files in them.`, { file: root });
  return {
    source: root,
    kind: 'folder',
    classes,
    size: files.length,
    item(index: number): DatasetItem {
      const f = files[index]!;
      return { index, id: path.relative(root, f.file), label: f.label };
    },
    image(index: number): Promise<RawImage> {
      return decodeImageFile(files[index]!.file, colorSpace);
    },
  };
}
