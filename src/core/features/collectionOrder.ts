// The order in which collection visits a dataset's images. Datasets are often sorted by class (ImageNet's
// train/<class>/ folders); collected in that order, every shard would hold one or two classes and training batches,
// which mix rows of a few shards at a time, would too. A seeded random order makes every shard a sample of the whole
// dataset. It depends only on the number of images and the seed, so every Slurm part and every resume visits the same
// order; the manifest records it, and stores from before it (no "order" field) were collected in dataset order.
import { permutation } from './vectorSource';

export type CollectionOrder = 'shuffled' | 'dataset';

/** The image index collected at each position of the collection: a seeded permutation, or the identity. */
export function collectionOrder(images: number, seed: number, order: CollectionOrder): Uint32Array {
  if (order === 'dataset') return Uint32Array.from({ length: images }, (_, i) => i);
  // An offset keeps this permutation unrelated to the training shuffles, which use small seeds too.
  return permutation(images, seed + 0x6a09e667);
}
