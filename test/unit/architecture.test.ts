// The layer rules (src/core never imports vscode, the extension, the CLI or the webviews; webviews never import src/
// or Node; common/ imports nothing) and the absence of import cycles are ESLint rules now (eslint.config.mjs, run by
// `npm run lint`): they see resolved paths and dynamic imports, which a text search did not.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../support/paths';

describe('architecture', () => {
  it('every contributed command is in the FaCT category', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    for (const c of pkg.contributes.commands) assert.equal(c.category, 'FaCT', c.command);
  });
});
