// `npm run lint` (a step of `npm test`): ESLint (typescript-eslint, no import cycles, the layer rules: eslint.config.mjs),
// the unused-export check (scripts/unusedExports.mjs) and Prettier's check (.prettierrc.json). All three run, each
// timed; the exit status is non-zero when any of them fails. `npm run format` fixes what Prettier finds.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (pkg, file) => path.join(root, 'node_modules', pkg, file);
const checks = [
  { name: 'eslint', args: [bin('eslint', 'bin/eslint.js'), '.'] },
  { name: 'unused exports', args: [path.join(root, 'scripts', 'unusedExports.mjs')] },
  { name: 'prettier --check', args: [bin('prettier', 'bin/prettier.cjs'), '--check', '--log-level', 'warn', '.'] },
];
const failed = [];
for (const c of checks) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, c.args, { cwd: root, stdio: 'inherit' });
  const ok = r.status === 0;
  console.log(`lint: ${c.name} ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (!ok) failed.push(c.name);
}
if (failed.length)
  console.log(`lint: failed: ${failed.join(', ')}${failed.includes('prettier --check') ? ' (npm run format rewrites the files)' : ''}`);
process.exitCode = failed.length ? 1 : 0;
