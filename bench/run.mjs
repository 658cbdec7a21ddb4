// `npm run bench`: speed figures, each printed as a ratio against a reference measured in the same run on the same
// CPU (PyTorch where one exists). Not a test: nothing here passes or fails. Each bench/*.bench.ts module exports
// `run(report)`; `report({ name, ours, reference, unit, note })` with `ours`/`reference` as numbers in `unit`
// (lower is better for ms, higher for /s).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const files = readdirSync(path.join(root, 'bench')).filter((f) => f.endsWith('.bench.ts') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
for (const f of files) {
  console.log(`\n━━ ${f} ━━`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'runOne.ts'), path.join(root, 'bench', f)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) console.log(`(${f} stopped with exit code ${r.status})`);
}
