#!/usr/bin/env node
// Runs the extension's tests inside a real VS Code (code-server 4.100.3 = VS Code 1.100.3), offline:
//   1. install code-server + chromium if missing (test/editor/harness/install.mjs; idempotent, fast when present);
//   2. check the build (dist/extension.js, dist/test/editor/index.js; `npm run build` makes them);
//   3. recreate the workspace <root>/.harness/workspace/ and start code-server;
//   4. run the mocha suite (dist/test/editor/index.js) in code-server's Node extension host;
//   5. run every test/editor/ui/*.ui.mjs against the web workbench (Playwright + Debian's chromium), once per theme
//      the test lists in `export const themes` (default ['dark'], VS Code's default look);
//   6. print `N passed, N failed`, write <root>/.test-output/editor-results.json, exit 1 on any failure.
// code-server is always killed (its whole process group), also on errors, Ctrl-C and the overall time limit.
//
// Usage: node test/editor/run-editor-tests.mjs [--only mocha|ui] [--grep REGEX] [--theme light|dark] [--no-install]
//   --only     run just the mocha suite or just the UI tests
//   --grep     run only the UI tests whose file name or title matches
//   --theme    run the UI tests in this theme only (whatever they list)
//   --no-install  skip the installer (fails if code-server/chromium are missing)
// Environment: FACT_EDITOR_TIMEOUT_S (overall limit, default 1800: a loaded 2-core machine needs several minutes),
//   FACT_HEADED=1 (visible browser, needs a display),
//   FACT_EXTENSION_ROOT (test another folder that follows the extension's contract; default: the repository).
//
// A UI test is a module exporting `default async function (ctx)` that throws on failure; optional exports:
// `title` (default: the file name), `themes` (['light', 'dark'] to run in both), `timeout` (ms, default 120000).
// ctx = { page, context, browser, baseUrl, root, extensionRoot, workspace, theme, ui, log, measure(name, ms),
//         screenshot(name) }; ui is test/editor/harness/ui.mjs. Measurements land in the results JSON.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { install } from './harness/install.mjs';
import { startCodeServer } from './harness/codeServer.mjs';
import { runExtensionTests } from './harness/runExtensionTests.mjs';
import { prepareWorkspace } from './harness/workspace.mjs';
import * as ui from './harness/ui.mjs';
import { EXTENSION_ROOT, HARNESS_DIR, OUTPUT_DIR, REPO_ROOT } from './harness/paths.mjs';

const { values: opts } = parseArgs({
  options: {
    only: { type: 'string' },
    grep: { type: 'string' },
    theme: { type: 'string' },
    'no-install': { type: 'boolean', default: false },
  },
});
if (opts.only && !['mocha', 'ui'].includes(opts.only)) {
  console.error(`--only must be mocha or ui, not ${opts.only}`);
  process.exit(2);
}

const T0 = Date.now();
const elapsed = () => `${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s`;
const log = (...args) => console.log(`[${elapsed()}]`, ...args);
const UI_DIR = path.join(REPO_ROOT, 'test', 'editor', 'ui');
const RESULTS_FILE = path.join(OUTPUT_DIR, 'editor-results.json');
const MOCHA_RESULT_FILE = path.join(HARNESS_DIR, 'mocha-result.json');
const MOCHA_CONSOLE_FILE = path.join(OUTPUT_DIR, 'editor-mocha-console.log');
const OVERALL_LIMIT_MS = Number(process.env.FACT_EDITOR_TIMEOUT_S || 1800) * 1000;

const results = []; // { suite, title, state, error?, ms, measurements? }
let stopCodeServer = null; // set while code-server runs, for the watchdog
const timings = {}; // phase -> ms

function record(entry) {
  results.push(entry);
  const mark = entry.state === 'passed' ? '✔' : '✘';
  log(`${mark} [${entry.suite}] ${entry.title}${entry.ms != null ? ` (${entry.ms} ms)` : ''}`);
  if (entry.error) log(`    ${entry.error.split('\n').join('\n    ')}`);
}

/** Prints the summary line and writes the JSON report. Returns the exit code. */
function finish() {
  const passed = results.filter((r) => r.state === 'passed').length;
  const failed = results.length - passed;
  timings.total = Date.now() - T0;
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  fs.writeFileSync(RESULTS_FILE, JSON.stringify({ passed, failed, tests: results, timings }, null, 2) + '\n');
  log(`timings (ms): ${JSON.stringify(timings)}`);
  log(`report: ${path.relative(REPO_ROOT, RESULTS_FILE)}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || results.length === 0 ? 1 : 0;
}

async function phase(name, fn) {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - t;
  }
}

/** UI test modules, sorted, filtered by --grep. */
async function loadUiTests() {
  if (!fs.existsSync(UI_DIR)) return [];
  const files = fs
    .readdirSync(UI_DIR)
    .filter((f) => f.endsWith('.ui.mjs'))
    .sort();
  const tests = [];
  for (const file of files) {
    const mod = await import(pathToFileURL(path.join(UI_DIR, file)).href);
    const title = mod.title || file.replace(/\.ui\.mjs$/, '');
    if (opts.grep && !new RegExp(opts.grep).test(`${file} ${title}`)) continue;
    if (typeof mod.default !== 'function') throw new Error(`${file} must export a default async function(ctx)`);
    let themes = Array.isArray(mod.themes) && mod.themes.length ? mod.themes : ['dark'];
    if (opts.theme) themes = [opts.theme];
    tests.push({ file, title, themes, fn: mod.default, timeout: mod.timeout || 120_000 });
  }
  return tests;
}

async function runUiTest(cs, browser, test, theme) {
  const title = `${test.title} [${theme}]`;
  const tag = `  [${test.file.replace(/\.ui\.mjs$/, '')}/${theme}]`;
  const measurements = {};
  const t = Date.now();
  let wb;
  try {
    wb = await ui.openWorkbench(cs.baseUrl, cs.workspace, { theme, browser, log });
    measurements['workbench open'] = Date.now() - t;
    const { page } = wb;
    const ctx = {
      page,
      context: wb.context,
      browser,
      baseUrl: cs.baseUrl,
      root: REPO_ROOT,
      extensionRoot: EXTENSION_ROOT,
      workspace: cs.workspace,
      theme,
      ui,
      log: (...a) => log(tag, ...a),
      measure: (name, ms) => {
        measurements[name] = ms;
        log(tag, `${name}: ${ms} ms`);
      },
      screenshot: (name) => ui.screenshot(page, name),
    };
    let timer;
    await Promise.race([
      test.fn(ctx),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${test.timeout / 1000}s`)), test.timeout))),
    ]).finally(() => clearTimeout(timer));
    record({ suite: 'ui', title, state: 'passed', ms: Date.now() - t, measurements });
  } catch (err) {
    // The message and the first frames of the stack (the test's own line is among them).
    let error = String(err?.stack || err)
      .split('\n')
      .slice(0, 8)
      .join('\n');
    if (wb) {
      const shot = await ui.screenshot(wb.page, `${test.file.replace(/\.ui\.mjs$/, '')}-${theme}-failure`).catch(() => null);
      if (shot) error += `\n(screenshot: ${path.relative(REPO_ROOT, shot)})`;
    }
    record({ suite: 'ui', title, state: 'failed', error, ms: Date.now() - t, measurements });
  } finally {
    await wb?.close();
  }
}

async function main() {
  // 1. install
  if (!opts['no-install']) {
    const { timings: t } = await phase('install', () => install({ log }));
    Object.assign(timings, { installApt: t.apt, installCodeServer: t.codeServer });
  }

  // 2. build check
  const needed = ['dist/extension.js'];
  if (opts.only !== 'ui') needed.push('dist/test/editor/index.js');
  const missing = needed.filter((f) => !fs.existsSync(path.join(EXTENSION_ROOT, f)));
  if (missing.length) {
    record({
      suite: 'build',
      title: 'extension is built',
      state: 'failed',
      ms: 0,
      error: `missing ${missing.join(', ')} in ${EXTENSION_ROOT}: run \`npm run build\` first`,
    });
    return;
  }

  // 3. workspace + code-server
  const uiTests = opts.only === 'mocha' ? [] : await loadUiTests();
  const themeOrder = [...new Set(uiTests.flatMap((t) => t.themes))];
  const workspace = prepareWorkspace({ log });
  const cs = await phase('codeServerStart', () =>
    startCodeServer({
      colorTheme: themeOrder[0] || 'dark',
      env: { FACT_TEST_RESULT: MOCHA_RESULT_FILE },
      log,
    }),
  );
  cs.workspace = workspace;
  stopCodeServer = () => cs.stop();
  const browser = await ui.launchBrowser();
  try {
    // 4. mocha suite in the extension host
    if (opts.only !== 'ui') {
      log('mocha suite in the extension host …');
      const r = await phase('mocha', () =>
        runExtensionTests({
          baseUrl: cs.baseUrl,
          workspace,
          extensionRoot: EXTENSION_ROOT,
          resultFile: MOCHA_RESULT_FILE,
          consoleFile: MOCHA_CONSOLE_FILE,
          browser,
          log,
        }),
      );
      for (const t of r.tests) {
        record({
          suite: 'mocha',
          title: t.title,
          state: t.state === 'passed' ? 'passed' : 'failed',
          ...(t.error ? { error: String(t.error) } : {}),
          ms: t.duration ?? t.ms ?? null,
        });
      }
      // Counts without per-test entries (a suite that reports only numbers) still count.
      const listed = r.tests.filter((t) => t.state === 'passed').length;
      for (let i = listed; i < r.passes; i++) record({ suite: 'mocha', title: `test ${i + 1}`, state: 'passed', ms: null });
      const listedFailed = r.tests.length - listed;
      for (let i = listedFailed; i < r.failures; i++)
        record({ suite: 'mocha', title: `failure ${i + 1}`, state: 'failed', ms: null, error: 'see the extension host output' });
      log(
        `mocha: ${r.passes} passed, ${r.failures} failed, exit code ${r.exitCode}, ${(r.ms / 1000).toFixed(1)}s (console: ${path.relative(REPO_ROOT, MOCHA_CONSOLE_FILE)})`,
      );
    }

    // 5. UI tests, grouped by theme so the settings change once per theme
    await phase('ui', async () => {
      for (const theme of themeOrder) {
        cs.setColorTheme(theme);
        for (const test of uiTests.filter((t) => t.themes.includes(theme))) {
          log(`UI: ${test.title} [${theme}] …`);
          await runUiTest(cs, browser, test, theme);
        }
      }
    });
  } finally {
    await browser.close().catch(() => {});
    await cs.stop();
    stopCodeServer = null;
  }
}

const watchdog = setTimeout(async () => {
  record({
    suite: 'harness',
    title: 'overall time limit',
    state: 'failed',
    ms: Date.now() - T0,
    error: `the editor tests did not finish within ${OVERALL_LIMIT_MS / 1000}s (FACT_EDITOR_TIMEOUT_S)`,
  });
  await stopCodeServer?.().catch(() => {});
  process.exit(finish());
}, OVERALL_LIMIT_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM']) {
  // process.exit runs the 'exit' hook registered by startCodeServer, which SIGKILLs code-server's group.
  process.on(signal, () => {
    console.error(`\n${signal}: stopping code-server`);
    process.exit(130);
  });
}

main()
  .catch((err) =>
    record({ suite: 'harness', title: 'harness error', state: 'failed', ms: Date.now() - T0, error: String(err?.stack || err) }),
  )
  .then(() => {
    clearTimeout(watchdog);
    process.exit(finish());
  });
