import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../support/paths';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('architecture', () => {
  it('src/core never imports vscode', () => {
    const offenders = files(path.join(repoRoot, 'src', 'core')).filter((f) => /from ['"]vscode['"]|require\(['"]vscode['"]\)/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('webview code never imports node or extension modules', () => {
    const offenders = files(path.join(repoRoot, 'webview')).filter((f) => /from ['"](node:|vscode['"]|\.\.\/\.\.\/src\/)/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('every contributed command is in the FaCT category', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    for (const c of pkg.contributes.commands) assert.equal(c.category, 'FaCT', c.command);
  });
});
