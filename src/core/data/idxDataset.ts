// A dataset held in a pair of IDX files (images N×H×W uint8, labels N uint8), as MNIST-style data ships.
import { FactError } from '../errors';
import type { Dataset, DatasetItem } from './dataset';
import { readIdxFile } from './idx';
import type { RawImage } from './rawImage';

export async function openIdxDataset(imagesFile: string, labelsFile: string, classes: string[]): Promise<Dataset> {
  const images = await readIdxFile(imagesFile);
  const labels = await readIdxFile(labelsFile);
  if (images.type !== 'uint8' || images.dims.length !== 3) {
    throw new FactError('bad-idx', `'${imagesFile}' holds ${images.type} data of rank ${images.dims.length}; images must be uint8 N×H×W.`, {
      file: imagesFile,
    });
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new FactError('bad-idx', `'${labelsFile}' has ${labels.dims[0]} labels for ${images.dims[0]} images in '${imagesFile}'.`, {
      file: labelsFile,
    });
  }
  const [n, h, w] = images.dims as [number, number, number];
  const data = images.data as Uint8Array;
  return {
    source: imagesFile,
    kind: 'idx',
    classes,
    size: n,
    item(index: number): DatasetItem {
      const label = Number(labels.data[index]);
      return { index, id: `#${index}`, label };
    },
    async image(index: number): Promise<RawImage> {
      return { width: w, height: h, channels: 1, data: data.subarray(index * h * w, (index + 1) * h * w) };
    },
  };
}
