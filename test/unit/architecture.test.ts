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

  it('common/ (the formatters every layer shares, webviews included) imports nothing', () => {
    const offenders = files(path.join(repoRoot, 'common')).filter((f) => /^\s*import\s(?!type\b)|require\(/m.test(readFileSync(f, 'utf8').replace(/^import .* from '\.\/[\w]+';$/gm, '')));
    assert.deepEqual(offenders, []);
  });

  it('src/core never imports the webviews, the extension or the CLI', () => {
    const offenders = files(path.join(repoRoot, 'src', 'core')).filter((f) => /from ['"](\.\.\/)+(webview|extension|cli)\//.test(readFileSync(f, 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('every contributed command is in the FaCT category', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    for (const c of pkg.contributes.commands) assert.equal(c.category, 'FaCT', c.command);
  });
});
