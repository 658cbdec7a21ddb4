// A feature store's content per image, as raw bytes: the image's sampled positions followed by its feature rows
// exactly as stored (float16 or float32), so two stores can be compared byte for byte per image whatever their
// shard boundaries.
import { promises as fs } from 'node:fs';
import { readManifest, shardPath } from '../../src/core/features/manifest';
import { parseSafetensors } from '../../src/core/util/safetensors';

export async function storeBytesPerImage(dir: string): Promise<Map<number, Buffer>> {
  const m = await readManifest(dir);
  const rowBytes = m.dim * (m.dtype === 'float16' ? 2 : 4);
  const parts = new Map<number, Buffer[]>();
  for (const s of m.shards) {
    const f = parseSafetensors(await fs.readFile(shardPath(dir, s)), s.file);
    const features = f.tensors.features!.data;
    const raw = Buffer.from(features.buffer, features.byteOffset, features.byteLength);
    const image = f.tensors.image!.data as Int32Array;
    const position = f.tensors.position!.data as Int32Array;
    for (let r = 0; r < image.length; r++) {
      const list = parts.get(image[r]!) ?? [];
      const pos = Buffer.alloc(4);
      pos.writeInt32LE(position[r]!);
      list.push(pos, raw.subarray(r * rowBytes, (r + 1) * rowBytes));
      parts.set(image[r]!, list);
    }
  }
  return new Map([...parts].map(([k, v]) => [k, Buffer.concat(v)]));
}
