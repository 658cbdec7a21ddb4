import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as path from 'node:path';
import sharp from 'sharp';
import { forEachImage } from '../../../src/core/data/dataset';
import { openIdxDataset } from '../../../src/core/data/idxDataset';
import { openImageFolder } from '../../../src/core/data/imageFolder';
import { tempDir } from '../../support/paths';

async function png(value: number): Promise<Buffer> {
  return sharp(new Uint8Array(4 * 4 * 3).fill(value), { raw: { width: 4, height: 4, channels: 3 } })
    .png()
    .toBuffer();
}

describe('datasets', () => {
  it('reads an image folder, one class per subfolder, and skips and reports a corrupt image', async () => {
    const root = tempDir();
    for (const cls of ['dog', 'cat']) mkdirSync(path.join(root, cls));
    writeFileSync(path.join(root, 'cat', 'a.png'), await png(10));
    writeFileSync(
      path.join(root, 'cat', 'b.JPG'),
      await sharp(await png(20))
        .jpeg()
        .toBuffer(),
    );
    writeFileSync(path.join(root, 'dog', 'c.png'), Buffer.from('garbage'));
    writeFileSync(path.join(root, 'dog', 'd.png'), await png(30));
    writeFileSync(path.join(root, 'dog', 'notes.txt'), 'ignored');
    const ds = await openImageFolder(root, 'rgb');
    assert.deepEqual(ds.classes, ['cat', 'dog']);
    assert.equal(ds.size, 4);
    const seen: [string, number, number][] = [];
    const report = await forEachImage(ds, (item, img) => {
      seen.push([item.id, item.label, img.data[0]!]);
    });
    assert.equal(report.processed, 3);
    assert.deepEqual(
      report.skipped.map((s) => s.id),
      [path.join('dog', 'c.png')],
    );
    assert.match(report.skipped[0]!.reason, /Cannot decode the image/);
    assert.deepEqual(
      seen.map((s) => [s[0], s[1]]),
      [
        [path.join('cat', 'a.png'), 0],
        [path.join('cat', 'b.JPG'), 0],
        [path.join('dog', 'd.png'), 1],
      ],
    );
  });

  it('stops a dataset job when cancelled', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'a'));
    for (let i = 0; i < 3; i++) writeFileSync(path.join(root, 'a', `${i}.png`), await png(i));
    const ds = await openImageFolder(root, 'grayscale');
    const abort = new AbortController();
    await assert.rejects(
      forEachImage(ds, () => abort.abort(), { signal: abort.signal }),
      /cancelled/,
    );
  });

  it('explains what an image folder needs', async () => {
    const root = tempDir();
    await assert.rejects(openImageFolder(root, 'rgb'), /has no class subfolders/);
    await assert.rejects(openImageFolder(path.join(root, 'missing'), 'rgb'), /does not exist/);
  });

  it('reads an IDX image/label pair and checks that the counts agree', async () => {
    const dir = tempDir();
    const header = (type: number, dims: number[]) => {
      const b = Buffer.alloc(4 + 4 * dims.length);
      b[2] = type;
      b[3] = dims.length;
      dims.forEach((d, k) => b.writeUInt32BE(d, 4 + 4 * k));
      return b;
    };
    writeFileSync(path.join(dir, 'img.gz'), gzipSync(Buffer.concat([header(8, [2, 2, 2]), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])])));
    writeFileSync(path.join(dir, 'lab.gz'), gzipSync(Buffer.concat([header(8, [2]), Buffer.from([1, 0])])));
    writeFileSync(path.join(dir, 'lab3.gz'), gzipSync(Buffer.concat([header(8, [3]), Buffer.from([1, 0, 1])])));
    const ds = await openIdxDataset(path.join(dir, 'img.gz'), path.join(dir, 'lab.gz'), ['a', 'b']);
    assert.equal(ds.size, 2);
    assert.deepEqual(ds.item(1), { index: 1, id: '#1', label: 0 });
    assert.deepEqual(Array.from((await ds.image(1)).data), [5, 6, 7, 8]);
    await assert.rejects(openIdxDataset(path.join(dir, 'img.gz'), path.join(dir, 'lab3.gz'), ['a', 'b']), /has 3 labels for 2 images/);
  });
});
