#!/usr/bin/env node
// The same mocha suite as run-editor-tests.mjs, in desktop VS Code (Electron) through @vscode/test-electron, for
// machines that can download VS Code (it fetches the desktop build from update.code.visualstudio.com on first use
// and caches it under .harness/electron/). It cannot run on the offline CI machine; there the suite runs in
// code-server (test/editor/run-editor-tests.mjs).
//
// Usage: npm run test:electron          (builds first)
//        node test/editor/run-electron.mjs
// Environment: FACT_VSCODE_VERSION (default 1.100.3, the VS Code inside the code-server the offline runner uses;
//   'stable' or 'insiders' also work). On a Linux machine without a display, run it under xvfb-run.
// Prints `N passed, N failed`, writes .test-output/editor-electron-results.json, exits 1 on any failure.

import fs from 'node:fs';
import path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { harnessUserSettings } from './harness/codeServer.mjs';
import { EXTENSION_ROOT, HARNESS_DIR, OUTPUT_DIR, REPO_ROOT } from './harness/paths.mjs';
import { prepareWorkspace } from './harness/workspace.mjs';

const ELECTRON_DIR = path.join(HARNESS_DIR, 'electron');
const RESULT_FILE = path.join(ELECTRON_DIR, 'mocha-result.json');
const REPORT_FILE = path.join(OUTPUT_DIR, 'editor-electron-results.json');
const testsPath = path.join(EXTENSION_ROOT, 'dist', 'test', 'editor', 'index.js');

function report(tests, extra = {}) {
  const passed = tests.filter((t) => t.state === 'passed').length;
  const failed = tests.length - passed;
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  fs.writeFileSync(REPORT_FILE, JSON.stringify({ passed, failed, tests, ...extra }, null, 2) + '\n');
  console.log(`report: ${path.relative(REPO_ROOT, REPORT_FILE)}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || tests.length === 0 ? 1 : 0;
}

async function main() {
  const t0 = Date.now();
  for (const f of [path.join(EXTENSION_ROOT, 'dist', 'extension.js'), testsPath]) {
    if (!fs.existsSync(f)) {
      return report([
        {
          suite: 'build',
          title: 'extension is built',
          state: 'failed',
          ms: 0,
          error: `missing ${path.relative(EXTENSION_ROOT, f)}: run \`npm run build\` first`,
        },
      ]);
    }
  }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    console.warn('warning: no DISPLAY; Electron needs one (run under xvfb-run -a)');
  }

  const workspace = prepareWorkspace();
  // A fresh profile: settings as in code-server, no extensions besides the one under development.
  const userDataDir = path.join(ELECTRON_DIR, 'user-data');
  const extensionsDir = path.join(ELECTRON_DIR, 'extensions');
  const cachePath = path.join(ELECTRON_DIR, 'vscode');
  for (const dir of [userDataDir, extensionsDir]) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.mkdirSync(cachePath, { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(harnessUserSettings({ colorTheme: 'dark' }), null, 2) + '\n',
  );
  fs.rmSync(RESULT_FILE, { force: true });

  let exitCode;
  try {
    exitCode = await runTests({
      version: process.env.FACT_VSCODE_VERSION || '1.100.3',
      cachePath,
      extensionDevelopmentPath: EXTENSION_ROOT,
      extensionTestsPath: testsPath,
      extensionTestsEnv: { FACT_TEST_RESULT: RESULT_FILE },
      // runTests adds --extensionDevelopmentPath/--extensionTestsPath, --disable-workspace-trust, --skip-welcome...
      launchArgs: [
        workspace,
        `--user-data-dir=${userDataDir}`,
        `--extensions-dir=${extensionsDir}`,
        '--disable-extensions', // other installed extensions; the one under development still loads
        '--disable-telemetry',
      ],
    });
  } catch (err) {
    // runTests rejects (TestRunFailedError) when VS Code exits non-zero, i.e. when a test failed.
    exitCode = err?.code ?? 1;
    console.error(`VS Code exited: ${err?.message || err}`);
  }

  let suite;
  try {
    suite = JSON.parse(fs.readFileSync(RESULT_FILE, 'utf8'));
  } catch {
    return report([
      {
        suite: 'mocha-electron',
        title: 'mocha suite',
        state: 'failed',
        ms: Date.now() - t0,
        error: `exit code ${exitCode} and no result in ${RESULT_FILE}`,
      },
    ]);
  }
  const tests = (suite.tests || []).map((t) => ({
    suite: 'mocha-electron',
    title: t.title,
    state: t.state === 'passed' ? 'passed' : 'failed',
    ...(t.error ? { error: String(t.error) } : {}),
    ms: t.duration ?? t.ms ?? null,
  }));
  if (!tests.length) {
    for (let i = 0; i < (suite.passes || 0); i++)
      tests.push({ suite: 'mocha-electron', title: `test ${i + 1}`, state: 'passed', ms: null });
    for (let i = 0; i < (suite.failures || 0); i++)
      tests.push({ suite: 'mocha-electron', title: `failure ${i + 1}`, state: 'failed', ms: null });
  }
  if (exitCode !== 0 && !tests.some((t) => t.state === 'failed')) {
    tests.push({ suite: 'mocha-electron', title: 'mocha suite', state: 'failed', ms: null, error: `VS Code exited with ${exitCode}` });
  }
  return report(tests, { timings: { total: Date.now() - t0 } });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
