// Starts and stops code-server (VS Code 1.100.3's server + web workbench) for the editor tests.
//
//   const cs = await startCodeServer({ colorTheme: 'light', env: { FACT_TEST_RESULT: file } });
//   ... open cs.baseUrl in a browser ...
//   await cs.stop();
//
// Isolation: HOME, XDG dirs, --user-data-dir and --extensions-dir all point into <root>/.harness/, recreated at every
// start, so no state leaks in from the machine or from an earlier run (restored editors, recently used commands...).
//
// The extension under test reaches the server in two ways:
//   - mocha run: the workbench URL's payload names it as extensionDevelopmentPath (see runExtensionTests.mjs);
//     a development extension overrides an installed one with the same id, so installing it as well is harmless;
//   - UI tests: it is installed "unpacked" into the extensions dir as <publisher>.<name>-<version>/, the layout the
//     server's extension scanner expects. The folder itself must be a real directory (the scanner skips a top-level
//     symlink), and the extensions dir is recreated without an extensions.json at every start, so the scanner
//     discovers the folder afresh. Inside it, package.json is copied (the manifest is read once, at scan time) and
//     dist/, media/, models/, node_modules/ are symlinks to the extension root, so a rebuild (npm run build) is
//     picked up by the next workbench without reinstalling, and the 100+ MB node_modules/ is never copied.
//
// Stopping: code-server forks a server process, which forks extension hosts that it keeps alive for a while after a
// browser disconnects. It is started detached (Node calls setsid(): a new session and process group whose id is its pid),
// and stopped by signalling the whole group (kill(-pid)), SIGTERM then SIGKILL. A process-exit hook does the same if
// the orchestrator dies without calling stop().

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CODE_SERVER_BIN, EXTENSION_ROOT, FACT_CACHE_DIR, HARNESS_DIR } from './paths.mjs';

/** Short names accepted wherever a colour theme is expected; anything else is used as a theme label as it is. */
export const THEMES = { light: 'Default Light Modern', dark: 'Default Dark Modern' };
export const themeLabel = (theme) => THEMES[theme] || theme;

/** User settings for a quiet, deterministic workbench (also used by run-electron.mjs). */
export function harnessUserSettings({ colorTheme, workspaceTrust = false, extra = {} } = {}) {
  return {
    'workbench.startupEditor': 'none',
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'chat.commandCenter.enabled': false,
    'chat.disableAIFeatures': true,
    'git.enabled': false,
    'git.openRepositoryInParentFolders': 'never',
    'window.restoreWindows': 'none',
    'files.hotExit': 'off',
    'security.workspace.trust.enabled': workspaceTrust,
    'security.workspace.trust.startupPrompt': 'never',
    'security.workspace.trust.banner': 'never',
    'fact.cacheFolder': FACT_CACHE_DIR,
    ...(colorTheme ? { 'workbench.colorTheme': themeLabel(colorTheme) } : {}),
    ...extra,
  };
}

/** A port that was free a moment ago (the OS picks it; the small race with other processes is retried below). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Installs the extension at `extensionRoot` unpacked into `extensionsDir` (see the header comment).
 * Returns the folder it created.
 */
export function installUnpackedExtension(extensionsDir, extensionRoot = EXTENSION_ROOT) {
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionRoot, 'package.json'), 'utf8'));
  const dir = path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`.toLowerCase());
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(extensionRoot, 'package.json'), path.join(dir, 'package.json'));
  for (const entry of ['dist', 'media', 'models', 'node_modules', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
    const src = path.join(extensionRoot, entry);
    if (fs.existsSync(src)) fs.symlinkSync(src, path.join(dir, entry));
  }
  return dir;
}

/** Resolves true once `child` has exited, false after `ms` (without keeping the event loop alive longer). */
function exitedWithin(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** The environment for code-server: ours, minus variables of a VS Code this may run inside (its terminal). */
function serverEnv(extra) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE'));
  return { ...env, ...extra };
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitForHealthz(baseUrl, child, logFile, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.spawnError) throw new Error(`code-server could not be started: ${child.spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}) before it was healthy:\n${tail(logFile)}`);
    }
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`code-server was not healthy after ${timeoutMs / 1000}s:\n${tail(logFile)}`);
}

/**
 * Starts code-server on 127.0.0.1 and a free port; resolves once /healthz answers.
 *
 * options:
 *   colorTheme      'light' | 'dark' | a theme label; written to the user settings (undefined: VS Code's default)
 *   workspaceTrust  false (default): --disable-workspace-trust, every folder is trusted;
 *                   true: trust is enforced and, with no prompt, the test workspace opens in Restricted Mode
 *   env             extra environment for the server and so for its extension hosts (e.g. FACT_TEST_RESULT)
 *   installExtension  install the extension under test unpacked (default true)
 *   extensionRoot   the extension to install (default: EXTENSION_ROOT)
 *   settings        extra user settings
 *   log             progress logger (default console.log)
 *
 * returns { baseUrl, port, pid, userDataDir, extensionsDir, logFile, settingsFile, setColorTheme(theme), stop() }
 */
export async function startCodeServer({
  colorTheme,
  workspaceTrust = false,
  env = {},
  installExtension = true,
  extensionRoot = EXTENSION_ROOT,
  settings = {},
  log = console.log,
  timeoutMs = 60_000,
  vsix,
  beforeStart,
} = {}) {
  if (!fs.existsSync(CODE_SERVER_BIN)) {
    throw new Error(`code-server is not installed (${CODE_SERVER_BIN}); run node test/editor/harness/install.mjs`);
  }
  const t0 = Date.now();
  const home = path.join(HARNESS_DIR, 'home');
  const userDataDir = path.join(HARNESS_DIR, 'user-data');
  const extensionsDir = path.join(HARNESS_DIR, 'extensions');
  const logFile = path.join(HARNESS_DIR, 'code-server.log');
  const configFile = path.join(HARNESS_DIR, 'code-server.yaml');
  const settingsFile = path.join(userDataDir, 'User', 'settings.json');

  for (const dir of [home, userDataDir, extensionsDir]) {
    spawnSync('umount', [dir], { stdio: 'ignore' }); // a read-only bind mount left by an interrupted install test
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }
  fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
  let currentSettings = harnessUserSettings({ colorTheme, workspaceTrust, extra: settings });
  const writeSettings = () => fs.writeFileSync(settingsFile, JSON.stringify(currentSettings, null, 2) + '\n');
  writeSettings();
  // An explicit config file keeps code-server from creating (and reading) ~/.config/code-server/config.yaml.
  fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  const homeEnv = {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
  };
  if (vsix) {
    // As a user installs it: code-server unpacks the VSIX into the extensions dir (offline).
    const r = spawnSync(
      CODE_SERVER_BIN,
      ['--install-extension', vsix, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--force'],
      { env: serverEnv(homeEnv), encoding: 'utf8', timeout: 300_000 },
    );
    if (r.status !== 0)
      throw new Error(
        `code-server --install-extension ${vsix} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').slice(-600)}`,
      );
    log(`code-server: installed ${path.basename(vsix)}`);
  } else if (installExtension) installUnpackedExtension(extensionsDir, extensionRoot);
  if (beforeStart) await beforeStart({ home, userDataDir, extensionsDir });

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const args = [
      '--config',
      configFile,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--user-data-dir',
      userDataDir,
      '--extensions-dir',
      extensionsDir,
      ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    ];
    fs.writeFileSync(logFile, `$ code-server ${args.join(' ')}\n`);
    const out = fs.openSync(logFile, 'a');
    // detached: Node calls setsid() in the child, so code-server leads a new session and process group whose id
    // is child.pid; kill(-pid) then reaches everything it forks.
    const child = spawn(CODE_SERVER_BIN, args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: serverEnv({ ...homeEnv, ...env }),
    });
    fs.closeSync(out);
    child.on('error', (err) => {
      child.spawnError = err;
    });
    const pid = child.pid;
    const killGroup = (signal) => {
      try {
        process.kill(-pid, signal);
      } catch {
        /* already gone */
      }
    };
    const onExit = () => killGroup('SIGKILL');
    process.on('exit', onExit);

    try {
      await waitForHealthz(baseUrl, child, logFile, timeoutMs);
    } catch (err) {
      killGroup('SIGKILL');
      process.off('exit', onExit);
      if (attempt < 3 && /EADDRINUSE/.test(tail(logFile))) continue;
      throw err;
    }
    log(`code-server: ${baseUrl} (pid ${pid}) healthy after ${((Date.now() - t0) / 1000).toFixed(1)}s`);

    let stopped;
    return {
      baseUrl,
      port,
      pid,
      userDataDir,
      extensionsDir,
      logFile,
      settingsFile,
      /** Changes the colour theme for workbenches opened from now on (the settings are read at workbench start). */
      setColorTheme(theme) {
        currentSettings = { ...currentSettings, 'workbench.colorTheme': themeLabel(theme) };
        writeSettings();
      },
      /** Kills code-server's whole process group; resolves when the server process is gone. */
      stop() {
        stopped ??= (async () => {
          killGroup('SIGTERM');
          await exitedWithin(child, 3000);
          killGroup('SIGKILL'); // the rest of the group: extension hosts and whatever ignored SIGTERM
          await exitedWithin(child, 2000);
          process.off('exit', onExit);
        })();
        return stopped;
      },
    };
  }
}
