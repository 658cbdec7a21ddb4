// Runs the editor suite inside VS Code's extension host (code-server here, desktop VS Code under test-electron).
// Bundled by esbuild into dist/test/editor/index.js; mocha itself is loaded from node_modules at run time.
import { writeFileSync } from 'node:fs';
import Mocha from 'mocha';

interface TestRecord {
  title: string;
  state: 'passed' | 'failed';
  error?: string;
  ms?: number;
}

export async function run(): Promise<void> {
  // FACT_MOCHA_GREP (a regular expression on the full title) runs a part of the suite while working on it.
  const grep = process.env.FACT_MOCHA_GREP;
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec', ...(grep ? { grep } : {}) });
  // Install the tdd globals (suite, test, …) before the bundled test modules register themselves.
  mocha.suite.emit('pre-require', globalThis, 'bundle', mocha);
  // The test modules load after the tdd globals exist (a static import would be hoisted above this line).
  await import('./extension.test');
  await import('./openModel.test');
  await import('./choices.test');
  await import('./jobs.test');
  await import('./explain.test');
  await import('./tree.test');
  await import('./commands.test');
  await import('./sae.test');
  await import('./hover.test');
  const records: TestRecord[] = [];
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const summary = { passes: runner.stats?.passes ?? 0, failures: runner.stats?.failures ?? failures, tests: records };
      console.log(`${summary.passes} passed, ${summary.failures} failed`);
      if (process.env.FACT_TEST_RESULT) writeFileSync(process.env.FACT_TEST_RESULT, `${JSON.stringify(summary, null, 2)}\n`);
      if (failures) reject(new Error(`${failures} editor test(s) failed.`));
      else resolve();
    });
    runner.on('pass', (t) =>
      records.push({ title: t.fullTitle(), state: 'passed', ...(t.duration !== undefined ? { ms: t.duration } : {}) }),
    );
    runner.on('fail', (t, err: Error) => {
      records.push({ title: t.fullTitle(), state: 'failed', error: err.message });
      // Said at once too: should the extension host die later, the reason is still in the console log.
      console.log(`      ✘ ${t.fullTitle()}: ${err.stack ?? err.message}`);
    });
  });
}
