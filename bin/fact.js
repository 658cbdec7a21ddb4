#!/usr/bin/env node
// `npx fact …` from the repository: runs the bundled CLI (built by `npm install` / `npm run build`).
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('fact: dist/cli.js is missing; run `npm run build` first.');
  process.exit(2);
}
require(cli).runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });
