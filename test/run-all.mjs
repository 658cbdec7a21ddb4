// `npm test`: every test the project has, in one command, closing with the plain line `N passed, N failed`.
//   1. type-check (tsc --noEmit: esbuild does not type-check)      — one test
//   2. build the bundles (esbuild)                                 — one test
//   3. unit tests of src/core, the CLI and the protocol (node:test, TypeScript through tsx)
//   4. the fault-injection suite (test/faults: real `fact` processes killed and resumed, two writers, a full disk,
//      crafted files; needs the build of step 2; about 2 minutes alone on 2 cores)
//   5. the editor suite inside a real VS Code (code-server) and the UI tests (Chromium + Playwright)
// `--only unit`, `--only faults` or `--only editor` runs a part.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installLavapipe } from './support/installLavapipe.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, '.test-output');
mkdirSync(outDir, { recursive: true });
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const want = (part) => !only || only === part;

let passed = 0;
let failed = 0;
const failures = [];
const step = (name) => console.log(`\n━━ ${name} ━━`);

function run(cmd, args, opts = {}) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return { ok: r.status === 0, ms: Date.now() - t0, status: r.status };
}

function record(name, ok, detail = '') {
  if (ok) passed++;
  else { failed++; failures.push(`${name}${detail ? `: ${detail}` : ''}`); }
}

function testFiles(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? testFiles(p) : n.endsWith('.test.ts') ? [p] : [];
  });
}

if (want('unit') || want('faults') || want('editor')) {
  step('type-check');
  const tsc = run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', '.']);
  record('type-check', tsc.ok);
  step('build');
  const build = run(process.execPath, ['esbuild.mjs']);
  record('build', build.ok);
}

if (want('unit')) {
  // The WebGPU tests run onnxruntime's WebGPU provider on Mesa's software Vulkan driver; installed like Chromium is
  // (from Debian's bookworm-backports), or skipped by those tests with the reason printed here.
  step('WebGPU without a GPU: Mesa lavapipe');
  const lavapipe = installLavapipe();
  console.log(lavapipe.installed ? 'lavapipe: present' : `lavapipe: not installed (${lavapipe.reason}); the WebGPU tests will skip`);
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(path.join(tmpdir(), 'fact-xdg-'));
  step('unit tests');
  const countFile = path.join(outDir, 'unit-counts.json');
  rmSync(countFile, { force: true });
  const files = testFiles(path.join(root, 'test', 'unit')).sort();
  const r = run(process.execPath, [
    '--import', 'tsx', '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${path.join(root, 'test', 'support', 'countReporter.mjs')}`, `--test-reporter-destination=${countFile}`,
    ...files,
  ]);
  if (existsSync(countFile)) {
    const c = JSON.parse(readFileSync(countFile, 'utf8'));
    passed += c.passed;
    failed += c.failed;
    for (const f of c.failures) failures.push(`unit: ${f.name} (${path.relative(root, f.file ?? '')})`);
    if (!r.ok && c.failed === 0) record('unit test runner', false, `exit ${r.status}`);
  } else record('unit test runner', false, 'no results');
}

if (want('faults')) {
  step('fault-injection suite');
  const countFile = path.join(outDir, 'fault-counts.json');
  rmSync(countFile, { force: true });
  const r = run(process.execPath, [
    '--import', 'tsx', '--test', '--test-concurrency=1',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${path.join(root, 'test', 'support', 'countReporter.mjs')}`, `--test-reporter-destination=${countFile}`,
    ...testFiles(path.join(root, 'test', 'faults')).sort(),
  ]);
  if (existsSync(countFile)) {
    const c = JSON.parse(readFileSync(countFile, 'utf8'));
    passed += c.passed;
    failed += c.failed;
    for (const f of c.failures) failures.push(`faults: ${f.name} (${path.relative(root, f.file ?? '')})`);
    if (!r.ok && c.failed === 0) record('fault test runner', false, `exit ${r.status}`);
  } else record('fault test runner', false, 'no results');
}

// The default SAE ships without its per-image evaluation records (28 MB) and concept atlas (33 MB): like a user's
// first use, the editor tests need them, so they are regenerated here when missing (about a minute).
function prepareDefaultSae() {
  const model = path.join(root, 'models', 'fashion-mnist-bcos', 'model.onnx');
  const sae = path.join(root, 'models', 'fashion-mnist-bcos', 'saes', 'layer3');
  if (existsSync(path.join(sae, 'evaluation.safetensors')) && existsSync(path.join(sae, 'atlas', 'atlas.json'))) return true;
  step('regenerate the default SAE\'s evaluation records and concept atlas');
  const fact = path.join(root, 'bin', 'fact.js');
  return run(process.execPath, [fact, 'evaluate', model, '--sae', sae]).ok && run(process.execPath, [fact, 'concepts', model, '--sae', sae]).ok;
}

if (want('editor')) {
  record('regenerate the default SAE\'s evaluation records and atlas', prepareDefaultSae());
  step('editor tests (real VS Code)');
  const resultFile = path.join(outDir, 'editor-results.json');
  rmSync(resultFile, { force: true });
  const r = run(process.execPath, [path.join(root, 'test', 'editor', 'run-editor-tests.mjs')]);
  if (existsSync(resultFile)) {
    const e = JSON.parse(readFileSync(resultFile, 'utf8'));
    passed += e.passed;
    failed += e.failed;
    for (const t of e.tests ?? []) if (t.state === 'failed') failures.push(`editor: ${t.suite ? `${t.suite} › ` : ''}${t.title}: ${t.error ?? ''}`);
    if (!r.ok && e.failed === 0) record('editor test runner', false, `exit ${r.status}`);
  } else record('editor test runner', false, `no results (exit ${r.status})`);
}

console.log('');
if (failures.length) {
  console.log('Failures:');
  for (const f of failures) console.log(`  ✗ ${f}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
