#!/usr/bin/env node
// Installs Mesa's software Vulkan driver (llvmpipe, "lavapipe") so the WebGPU tests can run onnxruntime's WebGPU
// provider without a GPU. Bookworm's own Mesa (22.3) lacks what Dawn needs ("Failed to get a WebGPU adapter"), so the
// packages come from Debian's bookworm-backports suite, added for the same mirror the machine already uses.
// Idempotent: when a Vulkan driver is present it returns at once. It never fails the test run: when it cannot install
// (not root, not Debian bookworm, no network) it returns the reason, and the WebGPU tests skip printing it.
//
// Usage: node test/support/installLavapipe.mjs      or      import { installLavapipe } from '…'; installLavapipe()
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCES_DIR = '/etc/apt/sources.list.d';
const BACKPORTS_FILE = path.join(SOURCES_DIR, 'fact-bookworm-backports.sources');
const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
const VULKAN_LOADER = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';

/** True when Mesa's lavapipe ICD and the Vulkan loader are installed from a Mesa new enough for Dawn. */
export function lavapipeInstalled() {
  if (!existsSync(LAVAPIPE_ICD) || !existsSync(VULKAN_LOADER)) return false;
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers'], { encoding: 'utf8' });
  if (r.status !== 0) return false;
  const mesaMajor = Number((r.stdout.match(/^(\d+)\./) ?? [])[1]);
  return mesaMajor >= 24;
}

/** The Debian mirror the machine already uses (from its deb822 or one-line sources), or undefined. */
function debianMirror() {
  const files = existsSync(SOURCES_DIR)
    ? readdirSync(SOURCES_DIR)
        .filter((f) => f.endsWith('.sources'))
        .map((f) => path.join(SOURCES_DIR, f))
    : [];
  for (const f of files) {
    for (const stanza of readFileSync(f, 'utf8').split(/\n\s*\n/)) {
      const uri = (stanza.match(/^URIs:\s*(\S+)/m) ?? [])[1];
      if (uri && /^Suites:.*\bbookworm\b(?!-)/m.test(stanza)) return uri;
    }
  }
  if (existsSync('/etc/apt/sources.list')) {
    const m = readFileSync('/etc/apt/sources.list', 'utf8').match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m);
    if (m) return m[1];
  }
  return undefined;
}

function apt(args) {
  const r = spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0)
    throw new Error(
      `apt-get ${args.join(' ')} exited with ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    );
}

/** Returns { installed: true } or { installed: false, reason }. */
export function installLavapipe({ log = console.log } = {}) {
  if (lavapipeInstalled()) return { installed: true };
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (!/^VERSION_CODENAME=bookworm$/m.test(osRelease))
    return { installed: false, reason: 'not Debian bookworm: install a Mesa ≥ 24 "mesa-vulkan-drivers" and "libvulkan1" yourself' };
  if (process.getuid?.() !== 0) return { installed: false, reason: 'not root: run `sudo node test/support/installLavapipe.mjs` once' };
  const mirror = debianMirror();
  if (!mirror) return { installed: false, reason: `no bookworm Debian mirror found in ${SOURCES_DIR} or /etc/apt/sources.list` };
  try {
    const t0 = Date.now();
    if (!existsSync(BACKPORTS_FILE)) {
      writeFileSync(
        BACKPORTS_FILE,
        `Types: deb\nURIs: ${mirror}\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
      );
    }
    log(`lavapipe: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1 (mirror ${mirror}) …`);
    apt(['update', '-qq', '-o', 'DPkg::Lock::Timeout=900']);
    apt(['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=900', '-t', 'bookworm-backports', 'mesa-vulkan-drivers', 'libvulkan1']);
    log(`lavapipe: installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    return { installed: false, reason: e.message };
  }
  return lavapipeInstalled()
    ? { installed: true }
    : { installed: false, reason: `apt-get finished but ${LAVAPIPE_ICD}, ${VULKAN_LOADER} or a Mesa ≥ 24 is missing` };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = installLavapipe();
  console.log(r.installed ? 'lavapipe: present' : `lavapipe: not installed (${r.reason})`);
}
