// File-system failures become messages naming the path and what to do.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FactError } from '../../../src/core/errors';
import { writeFileAtomic } from '../../../src/core/util/files';
import { fileSystemError } from '../../../src/core/util/fileSystemError';
import { tempDir } from '../../support/paths';

const errno = (code: string, syscall: string, p?: string) =>
  Object.assign(new Error(`${code}: x`), { code, syscall, ...(p ? { path: p } : {}) });

describe('file-system errors', () => {
  it('maps ENOSPC, EROFS, ENOENT, EEXIST and ENOTDIR to a message with the path and a remedy', () => {
    const full = fileSystemError(errno('ENOSPC', 'write'), '/data/sae/train-state.safetensors', 3 << 20)!;
    assert.equal(full.code, 'disk-full');
    assert.match(
      full.message,
      /disk holding '\/data\/sae\/train-state\.safetensors' is full \(writing; this write needed 3\.0 MiB\)\. Free some space/,
    );
    assert.match(
      fileSystemError(errno('EROFS', 'open', '/ro/x'))!.message,
      /'\/ro\/x' is on a read-only file system .*writable output folder/,
    );
    assert.match(fileSystemError(errno('ENOENT', 'open', '/a/b'))!.message, /'\/a\/b' does not exist/);
    assert.match(fileSystemError(errno('EEXIST', 'mkdir', '/a/f'))!.message, /'\/a\/f' already exists/);
    assert.match(
      fileSystemError(errno('ENOTDIR', 'mkdir', '/a/f/x'))!.message,
      /'\/a\/f\/x' is a file, not a folder|A part of '\/a\/f\/x' is a file/,
    );
    assert.equal(fileSystemError(new Error('plain')), undefined, 'not a file-system error');
    assert.equal(fileSystemError(new FactError('bad-input', 'x')), undefined, 'already a FactError');
  });

  it('an atomic write into a path under a file fails with a FactError naming it', async () => {
    const file = path.join(tempDir('fact-fserr-'), 'a-file');
    writeFileSync(file, 'x');
    await assert.rejects(
      writeFileAtomic(path.join(file, 'out.json'), '{}'),
      (e: Error) => e instanceof FactError && e.message.includes(file),
    );
  });
});
