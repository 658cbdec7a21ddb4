// Opening the dataset a job runs over: an image folder, an IDX image/label pair, or a split the model card ships.
import * as path from 'node:path';
import { cardPathFor } from '../model/card';
import { containedPath } from '../util/containedFile';
import { FactError } from '../errors';
import type { ModelContext } from '../model/modelContext';
import type { Dataset } from './dataset';
import { openIdxDataset } from './idxDataset';
import { openImageFolder } from './imageFolder';

export type DatasetSpec =
  { kind: 'folder'; path: string } | { kind: 'idx'; images: string; labels: string } | { kind: 'split'; split: string };

/** The spec with absolute paths, as it is recorded (an evaluation summary is read again from other folders). */
export function absoluteDataset(spec: DatasetSpec): DatasetSpec {
  if (spec.kind === 'folder') return { kind: 'folder', path: path.resolve(spec.path) };
  if (spec.kind === 'idx') return { kind: 'idx', images: path.resolve(spec.images), labels: path.resolve(spec.labels) };
  return spec;
}

export async function openDataset(ctx: ModelContext, spec: DatasetSpec): Promise<Dataset> {
  if (spec.kind === 'folder') return openImageFolder(spec.path, ctx.preprocess.colorSpace);
  const classes = ctx.classes ?? [];
  if (spec.kind === 'idx') return openIdxDataset(spec.images, spec.labels, classes);
  const entry = ctx.card?.data?.[spec.split];
  if (!entry) {
    const have = Object.keys(ctx.card?.data ?? {});
    throw new FactError(
      'bad-dataset',
      `The model '${ctx.file}' ships no '${spec.split}' data${have.length ? ` (it has: ${have.join(', ')})` : ''}; give a dataset folder instead.`,
      { file: ctx.file },
    );
  }
  // The card is a file we did not write: its data files must lie inside the model's folder.
  const dir = path.dirname(ctx.file);
  const by = (field: string) => ({ file: cardPathFor(ctx.file), field: `data.${spec.split}.${field}`, code: 'bad-card' as const });
  return openIdxDataset(
    containedPath(dir, entry.images, by('images'), true),
    containedPath(dir, entry.labels, by('labels'), true),
    classes,
  );
}
