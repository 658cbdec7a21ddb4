// A node:test reporter that writes the pass/fail counts of leaf tests (not suites) as JSON, for test/run-all.mjs.
export default async function* countReporter(source) {
  const failures = [];
  let passed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.type === 'test:pass') {
      if (event.data.skip || event.data.todo) skipped++;
      else passed++;
    } else {
      failures.push({
        name: event.data.name,
        file: event.data.file,
        error: String(event.data.details?.error?.cause ?? event.data.details?.error ?? ''),
      });
    }
  }
  yield `${JSON.stringify({ passed, failed: failures.length, skipped, failures })}\n`;
}
