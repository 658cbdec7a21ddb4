#!/usr/bin/env node
// The extension as users get it: `npm run package` builds the VSIX, code-server installs it, and its extensions
// folder is then mounted read-only (mount --bind + remount,ro: as root, chmod would not stop writes). Through the
// palette, on the shipped default model and SAE: Explain Image with the SAE (its concept strips need the atlas, built
// into the cache, evaluating first), Open Concept, Evaluate SAE, Measure Consistency. All must succeed, and the
// install folder's hash must not change: derived files go to the extension's global storage, never into itself.
// Prints `N passed, N failed` (one test) and the VSIX's size; exits 1 on failure. Without permission to mount it
// says why and skips (exit 77, `0 passed, 0 failed, 1 skipped`).
// Usage: node test/editor/run-vsix-install.mjs [--vsix FILE]   (default: build it with scripts/package.mjs)
// Environment: FACT_VSIX_TIMEOUT_S (overall limit, default 2700: the evaluation, atlas and C² of 10,000 images take
// minutes on an idle 2-core machine; at a load average of 20 on 2 cores the atlas took 6 and C² over 10).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startCodeServer } from './harness/codeServer.mjs';
import { install } from './harness/install.mjs';
import { HARNESS_DIR, REPO_ROOT } from './harness/paths.mjs';
import * as ui from './harness/ui.mjs';
import { activateTab, panelFrame, poll, quickOpen, waitForNotification } from './ui/factUi.mjs';

const T0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s]`, ...a);
const LIMIT_MS = Number(process.env.FACT_VSIX_TIMEOUT_S || 2700) * 1000;
/** Undoes the read-only mount, also when the time limit ends the run. */
let unmount = () => {};
const SAMPLE = '0002-trouser.png';

/**
 * Undoes the read-only bind mount. Right after code-server's process group is killed, its extension hosts may still
 * hold files of the installed extension (onnxruntime's library is mapped), and umount then fails with "target is
 * busy": it is retried until the mount is gone (a state), for at most a minute, and a mount left behind is said.
 */
function unmountWhenFree(dir) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = spawnSync('umount', [dir], { encoding: 'utf8' });
    if (r.status === 0 || /not mounted/.test(r.stderr)) return;
    if (Date.now() > deadline) {
      console.log(`could not unmount ${dir}: ${r.stderr.trim()} (run: umount ${dir})`);
      return;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}

/** sha256 over every file below `dir` (relative path and bytes, sorted) and every symlink's target. */
function folderHash(dir) {
  const h = createHash('sha256');
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) walk(p);
      else if (e.isSymbolicLink()) h.update(`${rel} -> ${fs.readlinkSync(p)}\n`);
      else h.update(`${rel}\n`).update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** Picks the first row of the quick pick that is showing or about to show (narrowed by `filter` when given). */
async function pickFirst(page, filter) {
  const box = page.locator('.quick-input-widget .quick-input-box input');
  assert.ok(
    await poll(async () => (await box.isVisible()) && !(await box.inputValue()).startsWith('>'), 30_000),
    `a quick pick${filter ? ` for "${filter}"` : ''}`,
  );
  if (filter) await box.fill(filter);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first();
  await row.waitFor({ timeout: 600_000 });
  const label = (await row.locator('.label-name').first().innerText()).trim();
  await box.press('Enter');
  return label;
}

async function readOnlyInstall() {
  const vsixArg = process.argv.indexOf('--vsix');
  let vsix = vsixArg > 0 ? path.resolve(process.argv[vsixArg + 1]) : undefined;
  if (!vsix) {
    log('npm run package …');
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'package.mjs')], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm run package failed:\n${(r.stdout + r.stderr).slice(-2000)}`);
    vsix = /Packaged: (\S+\.vsix)/.exec(r.stdout)?.[1];
    assert.ok(vsix && fs.existsSync(vsix), 'the VSIX was written');
  }
  log(`VSIX ${path.relative(REPO_ROOT, vsix)}: ${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB`);
  await install({ log });

  const workspace = path.join(HARNESS_DIR, 'vsix-workspace');
  fs.rmSync(workspace, { recursive: true, force: true });
  fs.mkdirSync(workspace, { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'models', 'fashion-mnist-bcos', 'samples', SAMPLE), path.join(workspace, SAMPLE));

  let installDir;
  let before;
  let mounted = false;
  let skipped;
  const cs = await startCodeServer({
    colorTheme: 'dark',
    vsix,
    log,
    settings: { 'fact.cacheFolder': '' }, // the default: the extension's global storage
    beforeStart: ({ extensionsDir }) => {
      const [name] = fs.readdirSync(extensionsDir).filter((n) => n.startsWith('fact-vscode.fact-vscode-'));
      assert.ok(name, `the VSIX was installed into ${extensionsDir}`);
      installDir = path.join(extensionsDir, name);
      before = folderHash(installDir);
      const bind = spawnSync('mount', ['--bind', extensionsDir, extensionsDir], { encoding: 'utf8' });
      if (bind.status !== 0) {
        skipped = `mount --bind is not permitted here (${bind.stderr.trim() || bind.error?.message}); run as root with CAP_SYS_ADMIN`;
        return;
      }
      mounted = true;
      unmount = () => unmountWhenFree(extensionsDir);
      const ro = spawnSync('mount', ['-o', 'remount,ro,bind', extensionsDir], { encoding: 'utf8' });
      if (ro.status !== 0) {
        skipped = `remount,ro is not permitted here (${ro.stderr.trim()})`;
        return;
      }
      try {
        fs.writeFileSync(path.join(installDir, '.probe'), 'x');
        throw new Error(`${extensionsDir} is still writable after remount,ro`);
      } catch (e) {
        if (e.code !== 'EROFS') throw e;
      }
      log(`extensions folder mounted read-only: ${extensionsDir}`);
    },
  });
  const browser = await ui.launchBrowser();
  try {
    if (skipped) return { skipped };
    const wb = await ui.openWorkbench(cs.baseUrl, workspace, { theme: 'dark', browser, log });
    const { page } = wb;
    try {
      // The workspace holds no model: the palette command activates the extension.
      await ui.runCommand(page, 'FaCT: Select Model…', { log, timeoutMs: 120_000 });
      log(`model: ${await pickFirst(page, 'Embedded default')}`);
      await page.locator('.statusbar-item').filter({ hasText: 'SAE layer3' }).first().waitFor({ timeout: 60_000 });

      // Explain Image with the SAE; its concept strips come from the atlas, built into the cache (evaluating first).
      let t = Date.now();
      await quickOpen(page, ui, SAMPLE, { log });
      await ui.runCommand(page, 'FaCT: Explain Image', { log });
      await activateTab(page, `Explain: ${SAMPLE}`);
      const ex = await panelFrame(page, 'fact-explain-panel');
      await ex.locator('fact-explain-panel fact-concept-bars #concept-completeness-values').waitFor({ timeout: 120_000 });
      assert.equal((await ex.locator('fact-explain-panel #explained-class').innerText()).trim(), 'Trouser');
      log(`Explain Image with the SAE: ${Date.now() - t} ms`);
      t = Date.now();
      assert.ok(
        await poll(
          () =>
            ex
              .locator('fact-explain-panel fact-concept-traces .strip img')
              .evaluateAll((imgs) => imgs.length === 6 && imgs.every((i) => i.complete && i.naturalWidth > 0)),
          600_000,
        ),
        'the six traced concepts show their strips of top images (atlas built into the cache)',
      );
      log(`concept strips (evaluation + atlas into the cache): ${Date.now() - t} ms`);

      // Open Concept: the first by mean contribution.
      await ui.runCommand(page, 'FaCT: Open Concept', { log });
      const concept = await pickFirst(page); // listed by mean contribution
      await activateTab(page, concept);
      const cp = await panelFrame(page, 'fact-concept-panel');
      assert.ok(
        await poll(
          async () =>
            (
              await cp
                .locator('fact-concept-panel #concept-rank')
                .innerText()
                .catch(() => '')
            ).startsWith('#1 of 1024'),
          60_000,
        ),
        `${concept} opened`,
      );
      log(`Open Concept: ${concept}`);

      // Evaluate SAE.
      t = Date.now();
      await ui.runCommand(page, 'FaCT: Evaluate SAE', { log });
      await waitForNotification(page, /SAE layer3 evaluated on 10,000 images/, 600_000);
      log(`Evaluate SAE: ${Date.now() - t} ms`);

      // Measure Consistency (the card's foundation model).
      t = Date.now();
      await ui.runCommand(page, 'FaCT: Measure Consistency', { log });
      const cs2 = await panelFrame(page, 'fact-consistency-panel', 1_500_000); // the panel opens when C² is measured
      assert.ok(
        await poll(
          async () =>
            /^\d\.\d{3}$/.test(
              (
                await cs2
                  .locator('fact-consistency-panel #stat-mean')
                  .innerText()
                  .catch(() => '')
              ).trim(),
            ),
          600_000,
        ),
        'the C² report is shown',
      );
      log(`Measure Consistency: ${Date.now() - t} ms`);
      await ui.screenshot(page, 'vsix-readonly-consistency');
      const errors = await page.locator('.notifications-toasts .notification-toast .codicon-error').count();
      assert.equal(errors, 0, 'no error notification');
    } catch (e) {
      await ui.screenshot(page, 'vsix-readonly-failure').catch(() => {});
      throw e;
    } finally {
      await wb.close();
    }
  } finally {
    await browser.close().catch(() => {});
    await cs.stop();
    if (mounted) unmount();
  }
  assert.equal(folderHash(installDir), before, `nothing in the install folder ${installDir} changed`);
  const cache = path.join(HARNESS_DIR, 'user-data', 'User', 'globalStorage', 'fact-vscode.fact-vscode', 'cache');
  assert.ok(fs.existsSync(cache), `the derived files went to the extension's global storage (${cache})`);
  return {};
}

const watchdog = setTimeout(() => {
  console.log(`✘ the read-only install test did not finish within ${LIMIT_MS / 1000}s (FACT_VSIX_TIMEOUT_S)`);
  console.log('0 passed, 1 failed');
  unmount(); // code-server's process group is killed by the exit hook of startCodeServer
  process.exit(1);
}, LIMIT_MS);
watchdog.unref();

readOnlyInstall().then(
  ({ skipped }) => {
    if (skipped) {
      console.log(`− skipped: VSIX installed into a read-only extensions folder: ${skipped}`);
      console.log('0 passed, 0 failed, 1 skipped');
      process.exit(77);
    } else {
      log(
        '✔ VSIX installed into a read-only extensions folder: Explain (SAE), Open Concept, Evaluate, Measure Consistency succeed; the install folder is unchanged',
      );
      console.log('1 passed, 0 failed');
    }
    process.exit(0);
  },
  (e) => {
    console.log(
      `✘ VSIX installed into a read-only extensions folder: ${String(e?.stack || e)
        .split('\n')
        .slice(0, 8)
        .join('\n')}`,
    );
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
