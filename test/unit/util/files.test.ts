// Files read whole must be regular files: a device or pipe (or a link to one) in a shared store or checkpoint would
// be read forever (/dev/zero grows memory until the machine gives out).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { isFactError } from '../../../src/core/errors';
import { readFileOrThrow } from '../../../src/core/util/files';
import { fileSha256 } from '../../../src/core/sae/saeFolder';
import { readManifest } from '../../../src/core/features/manifest';
import { tempDir } from '../../support/paths';

describe('reading whole files', () => {
  it('refuses a link to a device, and a pipe, naming the file; reads a regular file', async () => {
    const dir = tempDir('fact-files-');
    const zero = path.join(dir, 'cfg.json');
    symlinkSync('/dev/zero', zero);
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const file of [zero, fifo]) {
      await assert.rejects(
        readFileOrThrow(file, 'SAE config'),
        (e: unknown) => isFactError(e) && e.message.includes(`'${file}' is not a regular file`),
      );
    }
    await assert.rejects(fileSha256(zero), (e: unknown) => isFactError(e) && e.message.includes(`'${zero}' is not a regular file`));
    const store = tempDir('fact-files-store-');
    symlinkSync('/dev/zero', path.join(store, 'manifest.json'));
    await assert.rejects(readManifest(store), /manifest\.json' is not a regular file/);
    const plain = path.join(dir, 'plain');
    writeFileSync(plain, 'ok');
    assert.equal((await readFileOrThrow(plain)).toString(), 'ok');
    await assert.rejects(readFileOrThrow(path.join(dir, 'missing'), 'IDX file'), /The IDX file '.*missing' does not exist/);
  });
});
