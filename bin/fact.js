#!/usr/bin/env node
// `npx fact …` from the repository: runs the bundled CLI (built by `npm install` / `npm run build`).
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('fact: dist/cli.js is missing; run `npm run build` first.');
  process.exit(2);
}
let runCli;
try {
  ({ runCli } = require(cli));
} catch (e) {
  // A copy built on another platform lacks this machine's onnxruntime or sharp binaries: say so, and what to install.
  const explained = require(path.join(__dirname, '..', 'dist', 'native.js')).explainNativeLoadError(e);
  if (!explained) throw e;
  console.error(`fact: ${explained}`);
  process.exit(1);
}
runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
