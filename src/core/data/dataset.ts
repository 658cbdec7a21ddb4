// A dataset is a list of labelled images that can be decoded one at a time. Jobs over a dataset skip images that
// do not decode, go on, and report every skipped file at the end.
import { isFactError, throwIfAborted } from '../errors';
import type { RawImage } from './rawImage';

export interface DatasetItem {
  index: number;
  id: string;
  label: number;
}

export interface Dataset {
  /** What it is, for messages: a folder path or an IDX file. */
  readonly source: string;
  readonly kind: 'folder' | 'idx';
  readonly classes: string[];
  readonly size: number;
  item(index: number): DatasetItem;
  /** Decodes the image; throws a FactError('bad-image') naming the file when it cannot. */
  image(index: number): Promise<RawImage>;
}

export interface SkippedItem {
  id: string;
  reason: string;
}

export interface DatasetRunReport {
  processed: number;
  skipped: SkippedItem[];
}

/** Calls `fn` for each decodable image, in order; undecodable images are collected, other errors stop the run. */
export async function forEachImage(
  dataset: Dataset,
  fn: (item: DatasetItem, img: RawImage) => Promise<void> | void,
  opts: { signal?: AbortSignal; indices?: number[]; onProgress?: (done: number, total: number) => void } = {},
): Promise<DatasetRunReport> {
  const indices = opts.indices ?? Array.from({ length: dataset.size }, (_, i) => i);
  const skipped: SkippedItem[] = [];
  let processed = 0;
  for (let k = 0; k < indices.length; k++) {
    throwIfAborted(opts.signal);
    const item = dataset.item(indices[k]!);
    let img: RawImage;
    try {
      img = await dataset.image(item.index);
    } catch (e) {
      if (!isFactError(e) || e.code !== 'bad-image') throw e;
      skipped.push({ id: item.id, reason: e.message });
      continue;
    }
    await fn(item, img);
    processed++;
    opts.onProgress?.(k + 1, indices.length);
  }
  return { processed, skipped };
}
