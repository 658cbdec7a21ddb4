// Feature stores written as collection writes them (through ShardWriter), for the reader's tests and the store
// benches: a manifest with the fields collection sets, and a small store whose rows name their image.
import type { FeatureManifest } from '../../src/core/features/manifest';
import { ShardWriter } from '../../src/core/features/shardWriter';
import { tempDir } from './paths';

/** A fresh, empty manifest as collection starts one; `fields` names what the store is (layer, dim, dataset, …). */
export function newManifest(
  fields: Pick<FeatureManifest, 'model' | 'layer' | 'dtype' | 'dim' | 'samplesPerImage' | 'shardVectors' | 'dataset'> &
    Partial<Pick<FeatureManifest, 'order'>>,
): FeatureManifest {
  const now = new Date().toISOString();
  return {
    format: 1,
    kind: 'fact-feature-store',
    seed: 0,
    order: 'shuffled',
    weighting: 'abs-contribution-predicted',
    imagesDone: 0,
    vectors: 0,
    complete: false,
    shards: [],
    skipped: [],
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

/** A complete store of 6 shards of 10 vectors of 4 values (2 vectors per image); every value of image i lies in
 *  [i, i + 1), so a row names its image. */
export async function syntheticStore(): Promise<{ dir: string; m: FeatureManifest }> {
  const dir = tempDir('fact-verify-store-');
  const m = newManifest({
    model: { file: 'm.onnx', sha256: 'a'.repeat(64) },
    layer: { name: 'l', tensor: 'l', shape: [4, 2, 1] },
    dtype: 'float16',
    dim: 4,
    samplesPerImage: 2,
    shardVectors: 10,
    dataset: { source: 'synthetic', kind: 'folder', images: 30, classes: ['a'] },
  });
  const w = new ShardWriter(dir, m);
  for (let i = 0; i < 30; i++)
    await w.addImage(
      i,
      i,
      Float32Array.from({ length: 8 }, (_, j) => i + j / 8),
      [0, 1],
    );
  await w.flush();
  m.complete = true;
  return { dir, m };
}
