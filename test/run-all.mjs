// `npm test`: every test the project has, in one command, closing with the plain line `N passed, N failed`.
//   1. type-check (tsc --noEmit: esbuild does not type-check)      — one test
//      lint (npm run lint: ESLint with the import-cycle and layer rules, unused exports, Prettier) — one test
//   2. build the bundles (esbuild)                                 — one test
//   3. unit tests of src/core, the CLI and the protocol (node:test, TypeScript through tsx)
//   4. the fault-injection suite (test/faults: real `fact` processes killed and resumed, two writers, a full disk,
//      crafted files; needs the build of step 2; about 2 minutes alone on 2 cores)
//   5. the editor suite inside a real VS Code (code-server) and the UI tests (Chromium + Playwright)
//   6. the VSIX (npm run package) installed into code-server with a read-only extensions folder — one test (about 5
//      minutes on 2 cores)
//   7. the working tree is unchanged: tests write only to temporary folders and ignored caches   — one test
// `--only unit` (with lint), `--only faults`, `--only editor` or `--only vsix` runs a part.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

/** `git status --porcelain` with the sha256 of every file it lists: what a test must not change. */
function workingTreeState() {
  const r = spawnSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const file = path.join(root, line.slice(3).replace(/^.* -> /, ''));
      const hash =
        existsSync(file) && statSync(file).isFile() ? createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16) : '-';
      return `${line} ${hash}`;
    })
    .join('\n');
}
const changedLines = (a = '', b = '') => {
  const before = new Set(a.split('\n'));
  return (
    b
      .split('\n')
      .filter((l) => l && !before.has(l))
      .slice(0, 10)
      .join('; ') || 'files were restored or removed'
  );
};
const treeBefore = workingTreeState();

let passed = 0;
let failed = 0;
const failures = [];
const step = (name) => console.log(`\n━━ ${name} ━━`);

// Tests never write to the user's cache (~/.cache/fact-vscode or $FACT_CACHE), nor leave files in /tmp: the unit and
// fault tests run with a private TMPDIR (removed afterwards), a temporary XDG_CACHE_HOME inside it and no FACT_CACHE,
// so each test file that does not name a cache gets its own temporary one (test/support/cli.ts) and two files that
// train the same SAE never find each other's derived files.
function nodeTests(label, files) {
  const scratch = mkdtempSync(path.join(tmpdir(), `fact-${label}-tests-`));
  const env = { ...process.env, TMPDIR: scratch, XDG_CACHE_HOME: path.join(scratch, 'xdg-cache') };
  delete env.FACT_CACHE;
  mkdirSync(env.XDG_CACHE_HOME);
  const countFile = path.join(outDir, `${label}-counts.json`);
  rmSync(countFile, { force: true });
  const r = run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${path.join(root, 'test', 'support', 'countReporter.mjs')}`,
      `--test-reporter-destination=${countFile}`,
      ...files,
    ],
    { env },
  );
  rmSync(scratch, { recursive: true, force: true });
  if (existsSync(countFile)) {
    const c = JSON.parse(readFileSync(countFile, 'utf8'));
    passed += c.passed;
    failed += c.failed;
    for (const f of c.failures) failures.push(`${label}: ${f.name} (${path.relative(root, f.file ?? '')})`);
    if (!r.ok && c.failed === 0) record(`${label} test runner`, false, `exit ${r.status}`);
  } else record(`${label} test runner`, false, 'no results');
}

function run(cmd, args, opts = {}) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return { ok: r.status === 0, ms: Date.now() - t0, status: r.status };
}

function record(name, ok, detail = '') {
  if (ok) passed++;
  else {
    failed++;
    failures.push(`${name}${detail ? `: ${detail}` : ''}`);
  }
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
  step('lint');
  const lint = run(process.execPath, [path.join(root, 'scripts', 'lint.mjs')]);
  console.log(`lint: ${(lint.ms / 1000).toFixed(1)} s`);
  record('lint', lint.ok);
}

if (want('unit')) {
  // The WebGPU tests run onnxruntime's WebGPU provider on Mesa's software Vulkan driver; installed like Chromium is
  // (from Debian's bookworm-backports), or skipped by those tests with the reason printed here.
  step('WebGPU without a GPU: Mesa lavapipe');
  const lavapipe = installLavapipe();
  console.log(lavapipe.installed ? 'lavapipe: present' : `lavapipe: not installed (${lavapipe.reason}); the WebGPU tests will skip`);
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(path.join(tmpdir(), 'fact-xdg-'));
  step('unit tests');
  nodeTests('unit', testFiles(path.join(root, 'test', 'unit')).sort());
}

if (want('faults')) {
  step('fault-injection suite');
  nodeTests('faults', testFiles(path.join(root, 'test', 'faults')).sort());
}

// The default SAE ships without its per-image evaluation records (28 MB) and concept atlas (33 MB): like a user's
// first use, the editor tests need them. `fact concepts` builds them (evaluating first; about a minute, once) into the
// editor tests' cache (the setting fact.cacheFolder, git-ignored, kept across runs); the repository is only read.
function prepareDefaultSae() {
  const model = path.join(root, 'models', 'fashion-mnist-bcos', 'model.onnx');
  const sae = path.join(root, 'models', 'fashion-mnist-bcos', 'saes', 'layer3');
  step("the default SAE's evaluation records and concept atlas, in the editor tests' cache");
  const cache = path.join(root, '.harness', 'fact-cache');
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'fact.js'), 'concepts', model, '--sae', sae, '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, FACT_CACHE: cache },
  });
  if (r.status !== 0) return false;
  // The cache is keyed by content: a test's SAE trained again with the same seed would find the files of an earlier
  // run. Each run starts with the default SAE's files alone.
  const keep = path.dirname(JSON.parse(r.stdout).atlasDir);
  for (const name of readdirSync(path.join(cache, 'saes')))
    if (path.join(cache, 'saes', name) !== keep) rmSync(path.join(cache, 'saes', name), { recursive: true, force: true });
  return true;
}

if (want('editor')) {
  record("regenerate the default SAE's evaluation records and atlas", prepareDefaultSae());
  step('editor tests (real VS Code)');
  const resultFile = path.join(outDir, 'editor-results.json');
  rmSync(resultFile, { force: true });
  const r = run(process.execPath, [path.join(root, 'test', 'editor', 'run-editor-tests.mjs')]);
  if (existsSync(resultFile)) {
    const e = JSON.parse(readFileSync(resultFile, 'utf8'));
    passed += e.passed;
    failed += e.failed;
    for (const t of e.tests ?? [])
      if (t.state === 'failed') failures.push(`editor: ${t.suite ? `${t.suite} › ` : ''}${t.title}: ${t.error ?? ''}`);
    if (!r.ok && e.failed === 0) record('editor test runner', false, `exit ${r.status}`);
  } else record('editor test runner', false, `no results (exit ${r.status})`);
}

// The extension as users get it: the VSIX, installed into a read-only extensions folder (see the script's header).
// It packages the VSIX, then evaluates the default SAE, builds its atlas and measures its C² inside the installed
// extension: about 5 minutes on 2 cores (18 at a load average of 16). Its first Explain panel used to stay blank in
// about one run in three under load (a webview that lost its service-worker race); the extension now opens such a
// panel again in a new webview (src/extension/panels/pageLoadWatch.ts), and this test waits for that state.
if (want('vsix')) {
  step('the VSIX, installed read-only into code-server');
  const v = run(process.execPath, [path.join(root, 'test', 'editor', 'run-vsix-install.mjs')]);
  if (v.status === 77) console.log('(skipped: the reason is printed above)');
  else
    record(
      'the VSIX installed into a read-only extensions folder: Explain, Open Concept, Evaluate, Measure Consistency',
      v.ok,
      `exit ${v.status}`,
    );
}

// Tests never change what git tracks: whatever they regenerate goes to temporary folders or ignored caches. On a clean
// checkout (CI) `git status --porcelain` stays empty; with local edits, the same files with the same contents.
step('the working tree is as it was (git status --porcelain)');
const treeAfter = workingTreeState();
record(
  'tests leave git-tracked and unignored files as they were',
  treeAfter === treeBefore,
  treeAfter === undefined ? 'git status could not run' : changedLines(treeBefore, treeAfter),
);
if (treeAfter !== treeBefore) console.log(`before:\n${treeBefore}\nafter:\n${treeAfter}`);

console.log('');
if (failures.length) {
  console.log('Failures:');
  for (const f of failures) console.log(`  ✗ ${f}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
