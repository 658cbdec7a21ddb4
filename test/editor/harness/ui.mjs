// A small library for driving code-server's web workbench with Playwright (playwright-core + Debian's chromium).
//
//   const wb = await openWorkbench(baseUrl, folder, { theme: 'dark' });
//   await runCommand(wb.page, 'FaCT: Open Model');
//   await answerQuickPick(wb.page, 'models/fashion-mnist-bcos/model.onnx');
//   const frame = await webviewFrame(wb.page);
//   await frame.locator('#model-inputs').waitFor();
//   await screenshot(wb.page, 'open-model-dark');
//   await wb.close();
//
// Every workbench gets a fresh browser context (a clean profile: no IndexedDB state, so no restored editors or
// recently-used commands from an earlier test).

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, SCREENSHOT_DIR } from './paths.mjs';
import { themeLabel } from './codeServer.mjs';

const CHROMIUM_ARGS = [
  '--no-sandbox', // we run as root in a container
  '--disable-gpu',
  '--disable-dev-shm-usage', // small /dev/shm in containers
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Chromium 14x+ gates requests from a page to loopback addresses ("local network access"); code-server's
  // webviews and websockets to 127.0.0.1 trip it.
  '--disable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets',
];

export const DEFAULT_VIEWPORT = { width: 1400, height: 900 };

/** Launches headless Chromium; share one browser across many openWorkbench() calls to save ~1 s each. */
export function launchBrowser({ headless = process.env.FACT_HEADED !== '1' } = {}) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; run node test/editor/harness/install.mjs`);
  return chromium.launch({ executablePath: CHROMIUM, headless, args: CHROMIUM_ARGS });
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactly = (text) => new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`);

/** Rewrites the workbench page's configuration <meta> (JSON, HTML-escaped in its data-settings attribute). */
function patchWorkbenchHtml(html, patch) {
  return html.replace(/(id="vscode-workbench-web-configuration"\s+data-settings=")([^"]*)"/, (_m, pre, encoded) => {
    const config = JSON.parse(
      encoded
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&'),
    );
    patch(config);
    return pre + JSON.stringify(config).replace(/&/g, '&amp;').replace(/"/g, '&quot;') + '"';
  });
}

/** The workbench's theme class on .monaco-workbench: 'vs' (light), 'vs-dark', 'hc-black', 'hc-light'. */
function themeClass(theme) {
  const label = themeLabel(theme);
  if (/high contrast light/i.test(label)) return 'hc-light';
  if (/high contrast/i.test(label)) return 'hc-black';
  if (/light/i.test(label)) return 'vs';
  if (/dark/i.test(label)) return 'vs-dark';
  return undefined;
}

/**
 * Opens the web workbench on `folder` (an absolute path on the code-server machine).
 *
 * options:
 *   theme          'light' | 'dark' | a theme label: the theme the workbench must show. The theme itself comes from
 *                  the user settings (startCodeServer({ colorTheme }) / cs.setColorTheme()); this waits for it and
 *                  fails clearly when the workbench shows another one.
 *   browser        a browser from launchBrowser() (default: a private one, closed by close())
 *   viewport       default 1400x900
 *   payload        [[key, value], ...] workbench payload (extensionDevelopmentPath, extensionTestsPath, ...)
 *   smokeTestDriver  enable developmentOptions.enableSmokeTestDriver in the page configuration; VS Code 1.10x's
 *                  built product ignores payload test options without it, and code-server's CLI refuses
 *                  --enable-smoke-test-driver, so the page is patched on its way from the server
 *   beforeGoto     async (page) => {}: runs before navigation (exposeFunction, listeners)
 *   waitForReady   wait for the workbench and its status bar (default true)
 *   log            logger for page errors (default: none)
 *   timeoutMs      for the workbench to appear (default 60 s)
 *
 * returns { browser, context, page, close() }
 */
export async function openWorkbench(
  baseUrl,
  folder,
  {
    theme,
    browser,
    viewport = DEFAULT_VIEWPORT,
    payload,
    smokeTestDriver = false,
    beforeGoto,
    waitForReady = true,
    log,
    timeoutMs = 120_000, // a first workbench on a loaded 2-core machine takes a while
  } = {},
) {
  const ownBrowser = !browser;
  browser ??= await launchBrowser();
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const close = async () => {
    await context.close().catch(() => {});
    if (ownBrowser) await browser.close().catch(() => {});
  };
  try {
    if (log) {
      page.on('pageerror', (e) => log(`[pageerror] ${e.message}`));
      page.on('crash', () => log('[page crashed]'));
    }
    // Offline: the product's extension gallery (open-vsx.org) is unreachable; dropping it keeps the workbench from
    // trying. The payload, when given, also needs the smoke-test driver switch.
    const base = new URL(baseUrl);
    await page.route(
      (url) => url.origin === base.origin && url.pathname === base.pathname.replace(/\/?$/, '/'),
      async (route) => {
        if (!route.request().isNavigationRequest()) return route.continue();
        const response = await route.fetch();
        const body = patchWorkbenchHtml(await response.text(), (config) => {
          if (config.productConfiguration) delete config.productConfiguration.extensionsGallery;
          if (smokeTestDriver) config.developmentOptions = { ...config.developmentOptions, enableSmokeTestDriver: true };
        });
        await route.fulfill({ response, body });
      },
    );
    if (beforeGoto) await beforeGoto(page);

    const url = new URL(baseUrl);
    url.searchParams.set('folder', folder);
    if (payload) url.searchParams.set('payload', JSON.stringify(payload));
    await page.goto(url.href, { timeout: timeoutMs });
    if (waitForReady) {
      await page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
      await page.locator('.statusbar').waitFor({ timeout: timeoutMs });
      const wanted = theme && themeClass(theme);
      if (wanted) {
        // The theme comes from settings.json, which the server rereads when its file watcher reports the change
        // (late on a loaded machine): a workbench that opened with the old one is reloaded once.
        const themed = (ms) =>
          page
            .waitForFunction((cls) => document.querySelector('.monaco-workbench')?.classList.contains(cls), wanted, { timeout: ms })
            .then(
              () => true,
              () => false,
            );
        let ok = await themed(timeoutMs / 2);
        if (!ok) {
          log?.(`workbench opened without theme "${themeLabel(theme)}": reloading it once`);
          await page.reload({ timeout: timeoutMs });
          await page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
          ok = await themed(timeoutMs / 2);
        }
        if (!ok) {
          const actual = await page.locator('.monaco-workbench').getAttribute('class');
          throw new Error(`workbench did not switch to theme "${themeLabel(theme)}" (classes: ${actual})`);
        }
      }
    }
    return { browser, context, page, close };
  } catch (err) {
    await close();
    throw err;
  }
}

const quickInputBox = (page) => page.locator('.quick-input-widget .quick-input-box input');
/** Rows of the visible quick pick whose label is exactly `label`. */
const quickPickRows = (page, label) =>
  page
    .locator('.quick-input-widget .quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactly(label) }) });

/**
 * Runs a command through the command palette: F1, type ">Title", click the row whose label is exactly `title`.
 * Right after the workbench loads, an extension's commands are missing from the palette until the extension host
 * has reported its extensions (the palette then shows fuzzy matches such as "MCP: Add Server..."), and the first
 * F1 can land before the workbench has focus. So this retries until `timeoutMs`: it re-types the query into the open
 * palette (clearing it first makes the palette query the commands afresh), and reopens the palette every few tries.
 */
export async function runCommand(page, title, { timeoutMs = 60_000, log } = {}) {
  const deadline = Date.now() + timeoutMs;
  const box = quickInputBox(page);
  let lastError;
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    try {
      if (!(await box.isVisible())) {
        // Focus the workbench (not a webview, which would swallow the key) before pressing F1.
        await page
          .locator('.monaco-workbench .part.statusbar')
          .focus()
          .catch(() => {});
        await page.keyboard.press('F1');
        await box.waitFor({ state: 'visible', timeout: 3000 });
      }
      await box.fill('', { timeout: 3000 });
      await box.fill(`>${title}`, { timeout: 3000 });
      const row = quickPickRows(page, title).first();
      await row.waitFor({ state: 'visible', timeout: 1500 });
      await row.click({ timeout: 3000 });
      return;
    } catch (err) {
      lastError = err;
      if (log) {
        const shown = await page
          .locator('.quick-input-widget .quick-input-list .label-name')
          .allInnerTexts()
          .catch(() => []);
        log(`runCommand("${title}") attempt ${attempt}: ${err.message.split('\n')[0]}; palette shows ${JSON.stringify(shown.slice(0, 3))}`);
      }
      if (attempt % 4 === 0) await page.keyboard.press('Escape').catch(() => {});
      await page.waitForTimeout(250);
    }
  }
  throw new Error(`command "${title}" could not be run from the palette within ${timeoutMs / 1000}s: ${lastError?.message.split('\n')[0]}`);
}

/** Waits for a quick input (not the command palette) to show; returns its text box. */
async function waitForOwnQuickInput(page, deadline) {
  const box = quickInputBox(page);
  while (Date.now() < deadline) {
    // While the palette that launched the command is still up, its value starts with '>'.
    if ((await box.isVisible()) && !(await box.inputValue().catch(() => '>')).startsWith('>')) return box;
    await page.waitForTimeout(100);
  }
  throw new Error('no quick input appeared');
}

/**
 * Picks the item labelled `label` (exactly; a codicon in the label is ignored) in the quick pick that is showing or
 * about to show, by clicking it. If the item is not rendered within a second (long lists are virtualised), types
 * `filter` (default: the label) to narrow the list.
 */
export async function answerQuickPick(page, label, { filter = label, timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const box = await waitForOwnQuickInput(page, deadline);
  const row = quickPickRows(page, label).first();
  const typeAfter = Date.now() + 1000; // give the list a moment to render (or to be replaced by the next quick pick)
  let typed = false;
  while (Date.now() < deadline) {
    if (await row.isVisible()) {
      await row.click();
      return;
    }
    if (!typed && Date.now() > typeAfter && (await box.isVisible())) {
      await box.fill(filter);
      typed = true;
    }
    await page.waitForTimeout(150);
  }
  const shown = await page
    .locator('.quick-input-widget .quick-input-list .label-name')
    .allInnerTexts()
    .catch(() => []);
  throw new Error(`quick pick item "${label}" not found; items shown: ${JSON.stringify(shown)}`);
}

/** Types `text` into the input box that is showing or about to show and presses Enter. */
export async function answerInputBox(page, text, { prompt, timeoutMs = 30_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const box = await waitForOwnQuickInput(page, deadline);
  // With `prompt`, wait for the box that asks it: after Enter the previous box stays on screen for a moment, and
  // text typed into it answers the wrong question.
  if (prompt !== undefined) {
    const message = page.locator('.quick-input-widget .quick-input-message');
    while (!(await message.innerText().catch(() => '')).includes(prompt)) {
      if (Date.now() > deadline)
        throw new Error(`no input box asking "${prompt}" appeared; it shows "${await message.innerText().catch(() => '')}"`);
      await page.waitForTimeout(100);
    }
  }
  await box.fill(text);
  await box.press('Enter');
}

/** The titles of the editor tabs, active first. */
export async function editorTabs(page) {
  const active = await page.locator('.tabs-container .tab.active .label-name').allInnerTexts();
  const all = await page.locator('.tabs-container .tab .label-name').allInnerTexts();
  return [...new Set([...active, ...all])];
}

/**
 * Resolves to a FrameLocator for the document of the visible webview, once one is shown. A webview is two nested
 * iframes: the outer `iframe.webview` (VS Code's host page, class `ready` once loaded) and, inside it,
 * `iframe#active-frame` holding the extension's HTML. With `title`, waits for the editor tab with that title and
 * activates it first (hidden webviews keep their iframes, invisible).
 */
export async function webviewFrame(page, title, { timeoutMs = 30_000 } = {}) {
  if (title !== undefined) {
    const tab = page
      .locator('.tabs-container .tab')
      .filter({ has: page.locator('.label-name', { hasText: exactly(title) }) })
      .first();
    await tab.waitFor({ timeout: timeoutMs }).catch(async () => {
      throw new Error(`no editor tab titled "${title}"; tabs: ${JSON.stringify(await editorTabs(page))}`);
    });
    if (!/\bactive\b/.test((await tab.getAttribute('class')) || '')) await tab.click();
  }
  const outer = page.locator('iframe.webview.ready >> visible=true').first();
  await outer.waitFor({ timeout: timeoutMs }).catch(async () => {
    throw new Error(`no visible webview after ${timeoutMs / 1000}s; tabs: ${JSON.stringify(await editorTabs(page))}`);
  });
  return outer.contentFrame().locator('iframe#active-frame').contentFrame();
}

/**
 * The text an element shows, including what open shadow roots render: web components (e.g. @vscode-elements)
 * draw their content there, where innerText/textContent do not look. Whitespace is collapsed.
 */
export function deepText(locator) {
  return locator.evaluate((root) => {
    const parts = [];
    const walk = (node) => {
      if (node.nodeType === Node.TEXT_NODE) {
        parts.push(node.textContent);
        return;
      }
      if (node.nodeName === 'STYLE' || node.nodeName === 'SCRIPT') return;
      if (node.shadowRoot) walk(node.shadowRoot);
      for (const child of node.childNodes) walk(child);
    };
    walk(root);
    return parts.join(' ').replace(/\s+/g, ' ').trim();
  });
}

/** Saves a screenshot to <root>/.test-output/screenshots/<name>.png; returns its path. */
export async function screenshot(page, name, { fullPage = false } = {}) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/**
 * Measures how long `what` takes to settle: a promise, or a function returning one (or a value).
 * Returns { ms, value }. Rejections propagate, with the elapsed time in the message.
 */
export async function timeUntil(what) {
  const t0 = performance.now();
  try {
    const value = await (typeof what === 'function' ? what() : what);
    return { ms: Math.round(performance.now() - t0), value };
  } catch (err) {
    err.message = `${err.message} (after ${Math.round(performance.now() - t0)} ms)`;
    throw err;
  }
}
