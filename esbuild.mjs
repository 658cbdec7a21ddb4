// Bundles the three kinds of code this project ships:
//  - extension host + CLI + worker threads: Node, CommonJS; `vscode` and native modules stay external
//  - webview entries: browser ESM, one bundle per panel
//  - the editor test suite, loaded by VS Code's extension host (mocha stays external)
import * as esbuild from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// Native (or binary-carrying) packages must be required at run time from node_modules, never bundled.
const nativeExternals = ['vscode', 'onnxruntime-node', 'sharp', 'mocha'];

const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  external: nativeExternals,
  logLevel: 'warning',
};

const webviewEntries = readdirSync('webview', { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'shared' && existsSync(`webview/${d.name}/main.ts`))
  .map((d) => ({ in: `webview/${d.name}/main.ts`, out: d.name }));

const builds = [
  { ...nodeCommon, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { worker: 'src/core/jobs/workerMain.ts' }, outdir: 'dist' },
  // Loaded by bin/fact.js when the CLI cannot load (no native imports): names the platform and what to install.
  { ...nodeCommon, entryPoints: { native: 'src/core/nativeRuntime.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { 'test/editor/index': 'test/editor/suite/index.ts' }, outdir: 'dist' },
  {
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    entryPoints: webviewEntries,
    outdir: 'dist/webview',
    logLevel: 'warning',
  },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('esbuild: watching');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
