#!/usr/bin/env node
// `npm run package`: a VSIX for the current platform (e.g. fact-vscode-linux-x64-0.1.0.vsix in out/), holding only
// this platform's onnxruntime and sharp binaries.
//   1. production build (minified bundles, no source maps);
//   2. an ignore file = .vscodeignore (whitelist) + this platform's binaries; the models and media that go in are the
//      git-tracked files only (never what a local run left in the tree: caches, regenerated files);
//   3. `vsce package --target <platform>` (@vscode/vsce 3, Node 20);
//   4. lists what landed inside, by folder, with sizes, and checks nothing of another platform slipped in.
// Usage: node scripts/package.mjs [--target linux-x64|linux-arm64|darwin-arm64|darwin-x64|win32-x64|win32-arm64|alpine-x64]
//   (another target than this machine's only works when that platform's sharp packages are installed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const args = process.argv.slice(2);

function isMusl() {
  if (process.platform !== 'linux') return false;
  try {
    return !process.report.getReport().header.glibcVersionRuntime;
  } catch {
    return false;
  }
}

const hostTarget = `${isMusl() ? 'alpine' : process.platform}-${process.arch}`;
const target = args.includes('--target') ? args[args.indexOf('--target') + 1] : hostTarget;
const [targetOs, arch] = target.split('-');
const ortOs = targetOs === 'alpine' ? 'linux' : targetOs;
const sharpPlatform = `${targetOs === 'alpine' ? 'linuxmusl' : targetOs}-${arch}`;

const run = (cmd, cmdArgs, opts = {}) => {
  console.log(`$ ${[cmd, ...cmdArgs].join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

// 1. build
run(process.execPath, ['esbuild.mjs', '--production']);

// 2. ignore file
const ortBin = `node_modules/onnxruntime-node/bin/napi-v6/${ortOs}/${arch}`;
if (!fs.existsSync(path.join(root, ortBin))) {
  console.error(`onnxruntime-node has no binaries for ${target} (${ortBin} is missing).`);
  process.exit(1);
}
for (const p of [`@img/sharp-${sharpPlatform}`, `@img/sharp-libvips-${sharpPlatform}`]) {
  if (!fs.existsSync(path.join(root, 'node_modules', p))) {
    console.error(
      `node_modules/${p} is missing: sharp's binaries for ${target} are installed only on that platform (npm installs the host's).`,
    );
    process.exit(1);
  }
}
const outDir = path.join(root, 'out');
fs.mkdirSync(outDir, { recursive: true });
const ignoreFile = path.join(outDir, `.vscodeignore-${target}`);
// The VSIX holds what git tracks plus the build: the whitelist's folders of data are narrowed to their tracked files.
const tracked = spawnSync('git', ['ls-files', '-z', '--', 'models', 'media'], { cwd: root, encoding: 'utf8' });
let whitelist = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
if (tracked.status === 0) {
  const files = tracked.stdout.split('\0').filter(Boolean);
  const narrowed = (glob) => files.filter((f) => f.startsWith(glob.slice(1, -2))).map((f) => `!${f}`);
  whitelist = whitelist
    .split('\n')
    .flatMap((line) => (/^!(models|media)\/.*\/\*\*$|^!media\/\*\*$/.test(line) ? narrowed(line) : [line]))
    .join('\n');
} else {
  console.warn(
    `git ls-files failed (${tracked.error?.message ?? tracked.stderr.trim()}): not a git checkout, so models/ and media/ go in as they are on disk.`,
  );
}
fs.writeFileSync(
  ignoreFile,
  [
    whitelist,
    `# added by scripts/package.mjs for ${target}`,
    `!${ortBin}/**`,
    `!node_modules/@img/sharp-${sharpPlatform}/**`,
    `!node_modules/@img/sharp-libvips-${sharpPlatform}/**`,
    '',
  ].join('\n'),
);

// 3. vsce
const vsix = path.join(outDir, `${pkg.name}-${target}-${pkg.version}.vsix`);
fs.rmSync(vsix, { force: true });
const vsce = path.join(path.dirname(require.resolve('@vscode/vsce/package.json')), 'vsce');
run(process.execPath, [
  vsce,
  'package',
  '--target',
  target,
  '--ignoreFile',
  ignoreFile,
  '--out',
  vsix,
  '--skip-license',
  '--allow-missing-repository',
  '--allow-star-activation',
  // README's images stay relative: VS Code shows them from the installed extension, and nothing is fetched.
  '--no-rewrite-relative-links',
]);

// 4. what is inside
const list = spawnSync('unzip', ['-l', vsix], { encoding: 'utf8' });
if (list.status === 0) {
  const rows = list.stdout
    .split('\n')
    .map((l) => /^\s*(\d+)\s+\S+\s+\S+\s+(extension\/.*)$/.exec(l))
    .filter(Boolean)
    .map((m) => ({ size: Number(m[1]), file: m[2].replace(/^extension\//, '') }));
  const groups = new Map();
  const groupOf = (f) => {
    const parts = f.split('/');
    if (parts[0] === 'node_modules') return parts.slice(0, parts[1].startsWith('@') ? 3 : 2).join('/');
    if (parts[0] === 'models') return parts.slice(0, 3).join('/');
    return parts.length > 1 ? parts[0] : '(top)';
  };
  for (const r of rows) {
    const g = groupOf(r.file);
    const e = groups.get(g) ?? { files: 0, size: 0 };
    e.files++;
    e.size += r.size;
    groups.set(g, e);
  }
  console.log(
    `\n${path.relative(root, vsix)}: ${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB compressed, ${rows.length} files, ${(rows.reduce((s, r) => s + r.size, 0) / 1e6).toFixed(1)} MB unpacked`,
  );
  for (const [g, e] of [...groups].sort((a, b) => b[1].size - a[1].size))
    console.log(`  ${(e.size / 1e6).toFixed(2).padStart(7)} MB  ${String(e.files).padStart(4)} files  ${g}`);
  const foreign = rows.filter(
    (r) =>
      (/onnxruntime-node\/bin\/napi-v6\//.test(r.file) && !r.file.includes(`/napi-v6/${ortOs}/${arch}/`)) ||
      (/@img\/sharp-(libvips-)?[a-z0-9]+-[a-z0-9]+\//.test(r.file) &&
        !r.file.includes(`sharp-${sharpPlatform}/`) &&
        !r.file.includes(`sharp-libvips-${sharpPlatform}/`)),
  );
  if (foreign.length) {
    console.error(`binaries of another platform in the VSIX: ${foreign.map((r) => r.file).join(', ')}`);
    process.exit(1);
  }
} else console.log(`${path.relative(root, vsix)}: ${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB`);
