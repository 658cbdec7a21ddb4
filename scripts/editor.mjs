#!/usr/bin/env node
// `npm run editor`: a real VS Code with the extension under development, on the sample workspace
// (.harness/editor-workspace/: test/editor/workspace-template/ — model.py — plus the default model with its samples
// and the tiny test model, the same folder the editor tests use).
//   - desktop VS Code (`code --extensionDevelopmentPath=<repo> <workspace>`) when `code` is on the PATH;
//   - otherwise code-server (installed by test/editor/harness/install.mjs) on 127.0.0.1, with the URL printed;
//     Ctrl+C stops it.
// Usage: npm run editor [-- --server] [-- --fresh] [-- --watch]
//   --server  use code-server even when `code` is on the PATH
//   --fresh   recreate the sample workspace (otherwise an existing one, with your changes, is reused)
//   --watch   rebuild on every change (esbuild --watch); reload the window to pick a rebuild up
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { install } from '../test/editor/harness/install.mjs';
import { startCodeServer } from '../test/editor/harness/codeServer.mjs';
import { prepareWorkspace } from '../test/editor/harness/workspace.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const workspace = path.join(root, '.harness', 'editor-workspace');

function onPath(cmd) {
  const probe = process.platform === 'win32' ? spawnSync('where', [cmd]) : spawnSync('sh', ['-c', `command -v ${cmd}`]);
  return probe.status === 0;
}

// 1. build (and keep building with --watch)
const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
let watcher;
if (args.has('--watch')) watcher = spawn(process.execPath, ['esbuild.mjs', '--watch'], { cwd: root, stdio: 'inherit' });

// 2. the sample workspace
if (args.has('--fresh') || !fs.existsSync(workspace)) prepareWorkspace({ dir: workspace });
else console.log(`workspace: ${workspace} (reused; --fresh recreates it)`);

// 3a. desktop VS Code
if (!args.has('--server') && onPath('code')) {
  console.log(`$ code --extensionDevelopmentPath=${root} ${workspace}`);
  const code = spawn('code', ['--new-window', `--extensionDevelopmentPath=${root}`, workspace], {
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  code.on('exit', (status) => {
    if (!watcher) process.exit(status ?? 0);
  });
} else {
  // 3b. code-server, bound to 127.0.0.1 only
  await install({ log: console.log });
  const cs = await startCodeServer({ log: console.log });
  const url = new URL(cs.baseUrl);
  url.searchParams.set('folder', workspace);
  console.log(`\nFaCT in VS Code (code-server): open\n\n    ${url.href}\n\nin a browser on this machine (Ctrl+C stops the server).`);
  const stop = async () => {
    watcher?.kill();
    await cs.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await new Promise(() => {}); // until Ctrl+C
}
