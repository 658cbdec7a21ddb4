import * as path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const fixtures = path.join(repoRoot, 'test', 'fixtures');
export const defaultModelDir = path.join(repoRoot, 'models', 'fashion-mnist-bcos');

export function tempDir(prefix = 'fact-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}
