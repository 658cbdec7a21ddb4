// UI test: in an untrusted workspace (Restricted Mode) FaCT runs no model: "FaCT: Explain Image" says why, and the
// view lists models without expanding them into layers. The shared code-server runs with workspace trust disabled,
// so this test starts a second one of its own with trust enforced (its own home, profile and extensions folders).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { harnessUserSettings, installUnpackedExtension } from '../harness/codeServer.mjs';
import { CODE_SERVER_BIN, HARNESS_DIR } from '../harness/paths.mjs';
import { poll, quickOpen, treeRow, waitForNotification } from './factUi.mjs';

export const title = 'Untrusted workspace: FaCT says why it does not run';
export const themes = ['dark'];
export const timeout = 240_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startRestrictedServer(extensionRoot, theme) {
  const dir = path.join(HARNESS_DIR, 'untrusted');
  fs.rmSync(dir, { recursive: true, force: true });
  const home = path.join(dir, 'home');
  const userData = path.join(dir, 'user-data');
  const extensions = path.join(dir, 'extensions');
  for (const d of [home, path.join(userData, 'User'), extensions]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify(harnessUserSettings({ colorTheme: theme, workspaceTrust: true }), null, 2),
  );
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'auth: none\ncert: false\n');
  installUnpackedExtension(extensions, extensionRoot);
  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'code-server.log'), 'w');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE'));
  const child = spawn(
    CODE_SERVER_BIN,
    [
      '--config',
      path.join(dir, 'config.yaml'),
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      extensions,
    ],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        ...env,
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, '.config'),
        XDG_DATA_HOME: path.join(home, '.local', 'share'),
        XDG_CACHE_HOME: path.join(home, '.cache'),
      },
    },
  );
  fs.closeSync(log);
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.once('exit', stop);
  const baseUrl = `http://127.0.0.1:${port}`;
  const healthy = await poll(
    async () => (await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1000) }).catch(() => null))?.ok,
    30_000,
    150,
  );
  if (!healthy) {
    stop();
    throw new Error(`the restricted code-server did not start; see ${path.join(dir, 'code-server.log')}`);
  }
  return { baseUrl, stop };
}

export default async function untrusted({ browser, ui, workspace, extensionRoot, theme, log, measure }) {
  const t0 = Date.now();
  const cs = await startRestrictedServer(extensionRoot, theme);
  let wb;
  try {
    wb = await ui.openWorkbench(cs.baseUrl, workspace, { theme, browser, log });
    measure('restricted workbench open', Date.now() - t0);
    const { page } = wb;
    // Restricted Mode shows its indicator in the status bar.
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 30_000 });

    await quickOpen(page, ui, 'models/fashion-mnist-bcos/samples/0002-trouser.png', { log });
    await ui.runCommand(page, 'FaCT: Explain Image', { log });
    const message = await waitForNotification(page, /does not run models in an untrusted workspace/);
    assert.match(
      message,
      /FaCT does not run models in an untrusted workspace \(Restricted Mode\), so it cannot explain an image\. Trust this workspace to use FaCT\./,
    );
    assert.equal(await page.locator('.tabs-container .tab', { hasText: 'Explain:' }).count(), 0, 'no explain panel opened');

    // The view lists the models; a model's children say why there are no layers.
    await page.locator('.activitybar .action-item .action-label[aria-label^="FaCT"]').first().click();
    const view = page
      .locator('.pane')
      .filter({ has: page.locator('.pane-header', { hasText: 'Models' }) })
      .first();
    const model = treeRow(view, 'model.onnx');
    await model.waitFor({ timeout: 30_000 });
    await model.click();
    await treeRow(view, 'Trust this workspace to list layers').waitFor({ timeout: 15_000 });
    await ui.screenshot(page, `untrusted-${theme}`);
  } finally {
    await wb?.close();
    cs.stop();
  }
}
