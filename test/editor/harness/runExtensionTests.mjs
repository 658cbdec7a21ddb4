// Runs the extension's mocha suite inside code-server's real (Node) extension host.
//
// The workbench URL carries a `payload` naming the extension under development and its tests entry, both as
// vscode-remote:// URIs (they live on the server). The workbench starts an extension host that loads the extension
// from extensionDevelopmentPath and calls `run()` of extensionTestsPath; when that settles, the workbench calls
// window.codeAutomationExit(code), which we expose from Playwright. VS Code 1.10x ignores these payload entries in a
// built product unless developmentOptions.enableSmokeTestDriver is set, hence `smokeTestDriver: true`.
//
// Per-test results come from the suite itself: run() writes JSON to the file named by FACT_TEST_RESULT, an
// environment variable the extension host inherits from code-server (startCodeServer({ env })).

import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { openWorkbench } from './ui.mjs';

// console.log lines of mocha's spec reporter worth echoing: results, counts, numbered failures and their messages.
// (The workbench's own errors arrive as console.error and only go to consoleFile.)
const MOCHA_LINE = /✔|✓|✗|\b\d+ (passing|failing|pending)\b|^\s*\d+\) |Error\b/;

/**
 * options: baseUrl, workspace (folder to open), extensionRoot, testsPath (default <extensionRoot>/dist/test/editor/index.js),
 *          resultFile (the FACT_TEST_RESULT the server was started with), consoleFile? (the page console, for
 *          diagnosis), browser?, timeoutMs (default 240 s), log
 * returns { exitCode, passes, failures, tests: [{ title, state, error? }], ms }
 */
export async function runExtensionTests({
  baseUrl,
  workspace,
  extensionRoot,
  testsPath = path.join(extensionRoot, 'dist', 'test', 'editor', 'index.js'),
  resultFile,
  consoleFile,
  browser,
  timeoutMs = 600_000,
  log = console.log,
}) {
  const t0 = Date.now();
  fs.rmSync(resultFile, { force: true });
  if (consoleFile) {
    fs.mkdirSync(path.dirname(consoleFile), { recursive: true });
    fs.writeFileSync(consoleFile, '');
  }
  const authority = new URL(baseUrl).host;
  const remote = (p) => `vscode-remote://${authority}${p}`;

  const consoleErrors = []; // kept for the diagnosis when the suite reports nothing
  let exit;
  const exited = new Promise((resolve) => (exit = resolve));
  const wb = await openWorkbench(baseUrl, workspace, {
    browser,
    log,
    smokeTestDriver: true,
    waitForReady: false,
    payload: [
      ['extensionDevelopmentPath', remote(extensionRoot)],
      ['extensionTestsPath', remote(testsPath)],
      ['skipWelcome', 'true'],
    ],
    beforeGoto: async (page) => {
      await page.exposeFunction('codeAutomationExit', (code) => exit(code));
      // The extension host's console output (mocha's spec reporter included) reaches the page console through
      // the workbench's logger: args ['%c INFO', 'color: …', format, ...values]. All of it goes to consoleFile;
      // the lines that look like mocha's reporter are echoed to the log as well.
      // Messages are handled one after another (a promise chain) so that lines keep their order.
      let pending = Promise.resolve();
      page.on('console', (msg) => {
        pending = pending.then(async () => {
          let args;
          try {
            args = await Promise.all(msg.args().map((a) => a.jsonValue()));
          } catch {
            args = [msg.text()];
          }
          if (typeof args[0] === 'string' && args[0].startsWith('%c')) args = args.slice(2);
          const text = util.format(...args);
          if (consoleFile) fs.appendFileSync(consoleFile, `[${msg.type()}] ${text}\n`);
          if (msg.type() === 'error' && text.trim()) consoleErrors.push(text.trim());
          if (msg.type() === 'log' && MOCHA_LINE.test(text)) log(`  ${text.trimEnd()}`);
        });
      });
    },
  });

  let exitCode, timer;
  try {
    exitCode = await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs, 'timeout')))]);
  } finally {
    clearTimeout(timer);
    await wb.close();
  }
  const ms = Date.now() - t0;

  if (exitCode === 'timeout') {
    return {
      exitCode: 124,
      passes: 0,
      failures: 1,
      ms,
      tests: [{ title: 'mocha suite', state: 'failed', error: `did not finish within ${timeoutMs / 1000}s` }],
    };
  }
  let report;
  try {
    report = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
  } catch (err) {
    return {
      exitCode,
      passes: 0,
      failures: 1,
      ms,
      tests: [
        {
          title: 'mocha suite',
          state: 'failed',
          error:
            `exit code ${exitCode} and no readable result in ${resultFile} (${err.code || err.message}); ` +
            `did run() fail before mocha started? Errors in the page console${consoleFile ? ` (all of it: ${consoleFile})` : ''}:\n` +
            consoleErrors
              .slice(-5)
              .map((e) => e.split('\n').slice(0, 4).join('\n'))
              .join('\n'),
        },
      ],
    };
  }
  const tests = Array.isArray(report.tests) ? report.tests : [];
  let { passes = 0, failures = 0 } = report;
  if (exitCode !== 0 && failures === 0) {
    // run() rejected although no test failed (e.g. a hook or the runner itself): count it as a failure.
    failures = 1;
    tests.push({ title: 'mocha suite', state: 'failed', error: `extension tests exited with code ${exitCode}` });
  }
  return { exitCode, passes, failures, tests, ms };
}
