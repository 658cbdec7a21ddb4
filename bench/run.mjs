// `npm run bench`: speed figures, each printed as a ratio against a reference measured in the same run on the same
// CPU (PyTorch where one exists). Not a test: nothing here passes or fails. Each bench/*.bench.ts module exports
// `run(report)`; `report({ name, ours, reference, unit, note })` with `ours`/`reference` as numbers in `unit`
// (lower is better for ms, higher for /s).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--ep cpu|webgpu|cuda|auto` runs our side of every figure on that provider (the references stay on the CPU).
const args = process.argv.slice(2);
const epAt = args.indexOf('--ep');
const ep = epAt >= 0 ? args[epAt + 1] : undefined;
if (epAt >= 0 && !['cpu', 'webgpu', 'cuda', 'auto'].includes(ep)) { console.error('--ep must be one of cpu, webgpu, cuda, auto'); process.exit(2); }
const only = epAt >= 0 ? args.filter((_, i) => i !== epAt && i !== epAt + 1) : args;
const env = { ...process.env, ...(ep ? { FACT_BENCH_EP: ep } : {}) };
const files = readdirSync(path.join(root, 'bench')).filter((f) => f.endsWith('.bench.ts') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
for (const f of files) {
  console.log(`\n━━ ${f} ━━`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'runOne.ts'), path.join(root, 'bench', f)], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) console.log(`(${f} stopped with exit code ${r.status})`);
}
