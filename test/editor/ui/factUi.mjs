// Helpers the FaCT UI tests share (not a test: the runner loads only *.ui.mjs).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HARNESS_DIR } from '../harness/paths.mjs';

export const DEFAULT_MODEL = 'models/fashion-mnist-bcos/model.onnx';

/** Polls `fn` until it returns a truthy value or `ms` pass; returns the last value. */
export async function poll(fn, ms = 30_000, every = 100) {
  const deadline = Date.now() + ms;
  let value;
  while (!(value = await fn()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, every));
  return value;
}

/** Every line of every extension host's "FaCT" output channel so far (code-server writes them under its user-data
 *  logs, recreated at every start; each workbench has its own extension host and file). */
export function factLogLines() {
  const lines = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'FaCT.log') lines.push(...fs.readFileSync(p, 'utf8').split('\n'));
    }
  };
  const logs = path.join(HARNESS_DIR, 'user-data', 'logs');
  if (fs.existsSync(logs)) walk(logs);
  return lines;
}

/** FaCT's status bar item. */
export const factStatusItem = (page) => page.locator('.statusbar-item').filter({ hasText: 'FaCT:' }).first();

export async function statusText(page) {
  return (
    await factStatusItem(page)
      .innerText()
      .catch(() => '')
  )
    .replace(/\s+/g, ' ')
    .trim();
}

/** Opens a workspace file through Quick Open (Ctrl+P), e.g. an image, which VS Code shows in its image preview.
 *  Each step waits for its state; a Ctrl+P that lands where the workbench does not see it (a webview taking focus
 *  on a loaded machine) leaves the box hidden, and is tried again, as is a row or a tab that did not show. */
export async function quickOpen(page, ui, relPath, { log, timeoutMs = 60_000 } = {}) {
  const name = relPath.split('/').pop();
  const deadline = Date.now() + timeoutMs;
  const shows = (locator, timeout) =>
    locator.waitFor({ state: 'visible', timeout }).then(
      () => true,
      () => false,
    );
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    await page
      .locator('.monaco-workbench .part.statusbar')
      .focus()
      .catch(() => {});
    await page.keyboard.press('Control+P');
    const box = page.locator('.quick-input-widget .quick-input-box input');
    let failed = 'the Quick Open box did not show';
    if (await shows(box, 5000)) {
      await box.fill(relPath);
      const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ hasText: name }).first();
      failed = 'no row for the file';
      if (await shows(row, 5000)) {
        await row.click();
        const tab = page.locator('.tabs-container .tab.active').filter({ hasText: name });
        if (await shows(tab, 10_000)) return;
        failed = 'its tab did not become active';
      }
    }
    log?.(`quickOpen(${relPath}) attempt ${attempt} failed: ${failed}`);
    await page.keyboard.press('Escape').catch(() => {});
  }
  throw new Error(`could not open ${relPath} with Quick Open`);
}

/** Notification toasts' texts. */
export async function notifications(page) {
  return page
    .locator('.notifications-toasts .notification-list-item-message')
    .allInnerTexts()
    .catch(() => []);
}

export async function waitForNotification(page, pattern, ms = 30_000) {
  const found = await poll(async () => (await notifications(page)).find((t) => pattern.test(t)), ms);
  assert.ok(found, `no notification matching ${pattern}; shown: ${JSON.stringify(await notifications(page))}`);
  return found;
}

/** Clicks a button of the notification whose message matches `pattern`. */
export async function clickNotificationButton(page, pattern, label) {
  const toast = page
    .locator('.notifications-toasts .notification-toast')
    .filter({ has: page.locator('.notification-list-item-message', { hasText: pattern }) })
    .first();
  await toast.hover();
  await toast.locator('.monaco-button', { hasText: label }).first().click();
}

/** Right-clicks `row` and picks `label` from the context menu (the web workbench draws its menus as HTML). */
export async function contextMenu(page, row, label) {
  const esc = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const item = page
    .locator('.monaco-menu .action-item')
    .filter({ has: page.locator('.action-label', { hasText: new RegExp(`^\\s*${esc}\\s*$`) }) })
    .first();
  for (let attempt = 1; attempt <= 3; attempt++) {
    await row.click({ button: 'right' });
    await item.waitFor({ timeout: 10_000 });
    // The menu animates in; a click during the animation can be lost, so hover first and check that it closed.
    await item.hover();
    await page.waitForTimeout(150);
    await item.click();
    if (
      await item.waitFor({ state: 'detached', timeout: 2000 }).then(
        () => true,
        () => false,
      )
    )
      return;
    await page.keyboard.press('Escape');
  }
  throw new Error(`could not pick "${label}" from the context menu`);
}

/** A row of a tree/list (explorer, the FaCT view) by its label. */
export function treeRow(container, label) {
  return container
    .locator('.monaco-list-row')
    .filter({
      has: container.page().locator('.label-name', { hasText: new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) }),
    })
    .first();
}

/**
 * The document of the webview that holds `tag` (e.g. 'fact-explain-panel'). Several webviews can be visible at once
 * (VS Code's image preview is one), so this looks inside each visible one instead of taking the first.
 * A webview that loses its service-worker race stays blank; the extension itself then opens the panel again in a new
 * webview (src/extension/panels/pageLoadWatch.ts: after 15 s, then 30 s), so the default wait covers two of those.
 */
export async function panelFrame(page, tag, timeoutMs = 90_000) {
  const found = await findPanelFrame(page, tag, timeoutMs);
  if (found) return found;
  throw new Error(`no visible webview shows <${tag}> after ${timeoutMs / 1000}s`);
}

async function findPanelFrame(page, tag, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const outers = page.locator('iframe.webview.ready');
    const n = await outers.count();
    for (let i = 0; i < n; i++) {
      const outer = outers.nth(i);
      if (!(await outer.isVisible().catch(() => false))) continue;
      const frame = outer.contentFrame().locator('iframe#active-frame').contentFrame();
      if (
        await frame
          .locator(tag)
          .count()
          .catch(() => 0)
      )
        return frame;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/** Waits for the editor tab titled `title` and activates it. */
export async function activateTab(page, title, timeoutMs = 30_000) {
  const tab = page
    .locator('.tabs-container .tab')
    .filter({ has: page.locator('.label-name', { hasText: title }) })
    .first();
  await tab.waitFor({ timeout: timeoutMs });
  if (!/\bactive\b/.test((await tab.getAttribute('class')) || '')) await tab.click();
}
