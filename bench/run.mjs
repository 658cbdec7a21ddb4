// `npm run bench [-- NAME…] [-- --json FILE]`: speed figures, each printed as a ratio against a reference measured in
// the same run on the same CPU (PyTorch with an optimised BLAS where one exists). Not a test: nothing here passes or
// fails. Each bench/*.bench.ts module exports `run(report)`; `report({ name, ours, reference, unit, note })` with
// `ours`/`reference` as numbers in `unit` (lower is better for ms, higher for /s). `--json FILE` also writes every
// figure (name, ours, reference, unit, ratio) with the machine and its load for tools to read.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--ep cpu|webgpu|cuda|auto` runs our side of every figure on that provider (the references stay on the CPU);
// `--json FILE` writes every figure.
const args = process.argv.slice(2);
const epAt = args.indexOf('--ep');
const ep = epAt >= 0 ? args[epAt + 1] : undefined;
if (epAt >= 0 && !['cpu', 'webgpu', 'cuda', 'auto'].includes(ep)) {
  console.error('--ep must be one of cpu, webgpu, cuda, auto');
  process.exit(2);
}
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
if (jsonAt >= 0 && !jsonFile) {
  console.error('--json needs a file name: npm run bench -- --json bench.json');
  process.exit(2);
}
const only = args.filter((_, i) => !(epAt >= 0 && (i === epAt || i === epAt + 1)) && !(jsonAt >= 0 && (i === jsonAt || i === jsonAt + 1)));
const env = { ...process.env, ...(ep ? { FACT_BENCH_EP: ep } : {}) };
// *.experiment.ts (measurements that are not speeds and take long, e.g. classSortedSae: about an hour) run only
// when named.
const named = (f) => only.some((o) => f.includes(o));
const files = readdirSync(path.join(root, 'bench'))
  .filter((f) => (f.endsWith('.bench.ts') && (only.length === 0 || named(f))) || (f.endsWith('.experiment.ts') && named(f)))
  .sort();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fact-bench-json-'));
const lines = path.join(tmp, 'rows.jsonl');
const started = { at: new Date().toISOString(), loadavg: os.loadavg() };
for (const f of files) {
  console.log(`\n━━ ${f} ━━`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench', 'runOne.ts'), path.join(root, 'bench', f)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...env, FACT_BENCH_JSON_LINES: lines },
  });
  if (r.status !== 0) console.log(`(${f} stopped with exit code ${r.status})`);
}
if (jsonFile) {
  const rows = existsSync(lines)
    ? readFileSync(lines, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
  const doc = {
    cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`,
    node: process.version,
    started,
    finished: { at: new Date().toISOString(), loadavg: os.loadavg() },
    rows,
  };
  const out = path.resolve(process.env.INIT_CWD ?? process.cwd(), jsonFile);
  writeFileSync(`${out}.tmp`, JSON.stringify(doc, null, 2) + '\n');
  renameSync(`${out}.tmp`, out);
  console.log(`\n${rows.length} figures written to ${out}`);
}
rmSync(tmp, { recursive: true, force: true });
