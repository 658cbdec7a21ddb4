#!/usr/bin/env node
// Idempotent installer for the editor-test harness:
//   - Debian packages: chromium (the browser Playwright drives), and, only while code-server still has to be built,
//     ripgrep + libkrb5-dev (code-server's native `kerberos` module compiles against krb5 headers);
//   - code-server (a real VS Code server + web workbench) from npm into <root>/.harness/code-server.
// Nothing is downloaded except through apt and npm. A second run finds everything in place and returns in well
// under a second.
//
// Usage: node test/editor/harness/install.mjs            (prints the steps and their timings)
//        import { install } from './install.mjs'; await install({ log })

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CODE_SERVER_BIN, CODE_SERVER_DIR, CODE_SERVER_VERSION, HARNESS_DIR, REPO_ROOT } from './paths.mjs';

// code-server's postinstall installs VS Code's own dependencies, among them @vscode/ripgrep, whose postinstall
// downloads an `rg` binary from GitHub (not reachable here). It first looks in a download cache at
// $TMPDIR/vscode-ripgrep-cache-<package version>/ripgrep-<rg version>-<target>.tar.gz, so we put Debian's `rg`
// there. These are the versions code-server 4.100.3 pins; check them when CODE_SERVER_VERSION changes.
const RIPGREP_PACKAGE_VERSION = '1.15.11';
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

const INSTALLED_MARKER = path.join(CODE_SERVER_DIR, `.installed-${CODE_SERVER_VERSION}`);
const TMP_DIR = path.join(HARNESS_DIR, 'tmp');

/** Runs a command, capturing its output into `logFile`; rejects with the output's tail on failure. */
function run(cmd, args, { cwd, env, logFile } = {}) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a');
    fs.writeSync(out, `\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
    child.on('error', (err) => {
      fs.closeSync(out);
      reject(err);
    });
    child.on('exit', (code) => {
      fs.closeSync(out);
      if (code === 0) return resolve();
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
      reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}; last lines of ${logFile}:\n${tail}`));
    });
  });
}

function debInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

export function codeServerInstalled() {
  return fs.existsSync(INSTALLED_MARKER) && fs.existsSync(CODE_SERVER_BIN);
}

/** Debian packages still missing. libkrb5-dev and ripgrep are needed only to install code-server. */
function missingDebianPackages() {
  const missing = [];
  if (!fs.existsSync(CHROMIUM)) missing.push('chromium');
  if (!codeServerInstalled()) {
    if (!fs.existsSync('/usr/bin/rg')) missing.push('ripgrep');
    if (!debInstalled('libkrb5-dev')) missing.push('libkrb5-dev');
  }
  return missing;
}

async function installDebianPackages(packages, logFile) {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`missing Debian packages: ${packages.join(' ')}; run as root or: sudo apt-get install -y ${packages.join(' ')}`);
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env, logFile });
  await run('apt-get', ['install', '-y', '-qq', ...packages], { env, logFile });
}

/** Puts Debian's rg into @vscode/ripgrep's download cache (see RIPGREP_* above). */
async function seedRipgrepCache(logFile) {
  const cacheDir = path.join(TMP_DIR, `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  const tarball = path.join(cacheDir, RIPGREP_ASSET);
  if (fs.existsSync(tarball)) return;
  const staging = path.join(TMP_DIR, 'rg-staging');
  fs.mkdirSync(staging, { recursive: true });
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.copyFileSync('/usr/bin/rg', path.join(staging, 'rg'));
  fs.chmodSync(path.join(staging, 'rg'), 0o755);
  await run('tar', ['czf', tarball, '-C', staging, 'rg'], { logFile });
}

async function installCodeServer(logFile) {
  // A fresh folder each time: a half-finished earlier attempt must not be mistaken for an installation.
  fs.rmSync(CODE_SERVER_DIR, { recursive: true, force: true });
  fs.mkdirSync(CODE_SERVER_DIR, { recursive: true });
  fs.writeFileSync(path.join(CODE_SERVER_DIR, 'package.json'), '{ "private": true }\n');
  // `--unsafe-perm=true` matters to npm < 7 only (newer npm ignores it with a warning); as `--flag=value`, it cannot
  // swallow the package spec.
  await run('npm', ['install', `code-server@${CODE_SERVER_VERSION}`, '--no-audit', '--no-fund', '--unsafe-perm=true'], {
    cwd: CODE_SERVER_DIR,
    logFile,
    env: {
      TMPDIR: TMP_DIR, // where @vscode/ripgrep looks for its (seeded) download cache
      npm_config_yes: 'true', // code-server's postinstall runs npm/npx non-interactively
    },
  });
  if (!fs.existsSync(CODE_SERVER_BIN)) throw new Error(`npm finished but ${CODE_SERVER_BIN} is missing; see ${logFile}`);
  fs.writeFileSync(INSTALLED_MARKER, new Date().toISOString() + '\n');
}

/**
 * Makes sure chromium and code-server are present. Returns { timings: {apt, codeServer, total} (ms), skipped: [] }.
 */
export async function install({ log = console.log } = {}) {
  const t0 = Date.now();
  fs.mkdirSync(TMP_DIR, { recursive: true });
  const logFile = path.join(HARNESS_DIR, 'install.log');
  const timings = { apt: 0, codeServer: 0, total: 0 };
  const skipped = [];

  const missing = missingDebianPackages();
  if (missing.length) {
    log(`install: apt-get install ${missing.join(' ')} …`);
    const t = Date.now();
    await installDebianPackages(missing, logFile);
    timings.apt = Date.now() - t;
    log(`install: Debian packages in ${(timings.apt / 1000).toFixed(1)}s`);
  } else {
    skipped.push('apt');
  }

  if (!codeServerInstalled()) {
    log(`install: code-server ${CODE_SERVER_VERSION} from npm into ${path.relative(REPO_ROOT, CODE_SERVER_DIR)} …`);
    const t = Date.now();
    await seedRipgrepCache(logFile);
    await installCodeServer(logFile);
    timings.codeServer = Date.now() - t;
    log(`install: code-server in ${(timings.codeServer / 1000).toFixed(1)}s`);
  } else {
    skipped.push('code-server');
  }

  timings.total = Date.now() - t0;
  log(`install: done in ${(timings.total / 1000).toFixed(1)}s${skipped.length ? ` (already present: ${skipped.join(', ')})` : ''}`);
  return { timings, skipped };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  install().catch((err) => {
    console.error(`install failed: ${err.message}`);
    process.exit(1);
  });
}
