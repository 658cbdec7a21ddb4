// Names read from files we did not write (manifests, atlases, cards) must stay inside their folder.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { containedFile, containedPath, readContainedFile } from '../../../src/core/util/containedFile';
import { tempDir } from '../../support/paths';

const by = { file: '/store/manifest.json', field: 'shards[0].file' };

describe('contained file names', () => {
  it('accepts plain names and refuses separators, "..", absolute paths and non-strings, naming the file and field', () => {
    assert.equal(containedPath('/store', 'shard-00001.safetensors', by), path.join('/store', 'shard-00001.safetensors'));
    for (const bad of ['../x', '../../../../dev/zero', '/etc/passwd', 'a/b', 'a\\b', '', '.', 'C:\\x', 42, null]) {
      assert.throws(
        () => containedPath('/store', bad, by),
        (e: Error) => /manifest\.json/.test(e.message) && /shards\[0\]\.file/.test(e.message),
        String(bad),
      );
    }
    assert.equal(containedPath('/m', 'data/x.idx', by, true), path.join('/m', 'data', 'x.idx'));
    assert.throws(() => containedPath('/m', 'data/../../x', by, true), /climbs out/);
  });

  it('follows a symlink only while it stays inside the folder, and reads only regular files within their bound', async () => {
    const root = tempDir('fact-contained-');
    const dir = path.join(root, 'store');
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'secret'), 'outside');
    writeFileSync(path.join(dir, 'inside'), '0123456789');
    symlinkSync(path.join(root, 'secret'), path.join(dir, 'out-link'));
    symlinkSync('/dev/zero', path.join(dir, 'zero'));
    symlinkSync(path.join(dir, 'inside'), path.join(dir, 'in-link'));
    await assert.rejects(containedFile(dir, 'out-link', by), /outside the folder/);
    await assert.rejects(containedFile(dir, 'zero', by), /outside the folder/);
    await assert.rejects(containedFile(dir, 'sub', by), /not a regular file/);
    await assert.rejects(containedFile(dir, 'missing', by), /does not exist/);
    assert.equal((await readContainedFile(dir, 'in-link', { ...by, maxBytes: 10 })).toString(), '0123456789');
    await assert.rejects(readContainedFile(dir, 'inside', { ...by, maxBytes: 9 }), /holds 10 bytes, more than the 9/);
  });
});
