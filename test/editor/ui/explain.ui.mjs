// UI test: the status bar picks the active model; an image opened in VS Code's image preview is explained with
// "FaCT: Explain Image" from the palette, the panel shows the prediction, the top-5 classes and the completeness
// line; another class is chosen with the mouse and with the keyboard; a second image is explained from the explorer's
// context menu into the same panel; the report is exported. Times from command to painted panel are measured.
// (Restore after a window reload is checked in the mocha suite: code-server's web workbench restores webviews
// unreliably after a quick reload — state persisted lazily, and now and then a disposed overlay.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_MODEL,
  activateTab,
  contextMenu,
  factLogLines,
  factStatusItem,
  panelFrame,
  poll,
  quickOpen,
  statusText,
  treeRow,
} from './factUi.mjs';

export const title = 'FaCT: Explain Image (status bar, palette, explorer menu, classes, export)';
export const themes = ['light', 'dark'];
export const timeout = 300_000;

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Resolves when the panel shows a painted explanation of `cls` (of any class without one), pictures decoded. */
async function painted(frame, cls) {
  let lastError;
  const ok = await poll(
    () =>
      frame
        .locator('fact-explain-panel')
        .evaluate((el, want) => {
          const r = el.shadowRoot;
          if (!r || r.querySelector('.busy')) return false;
          if (want !== null && r.querySelector('#explained-class')?.textContent.trim() !== want) return false;
          const imgs = [...r.querySelectorAll('#pictures img')];
          return imgs.length === 3 && imgs.every((i) => i.complete && i.naturalWidth > 0) && !!r.querySelector('#completeness-values');
        }, cls ?? null)
        .catch((e) => {
          lastError = e;
          return false;
        }),
    30_000,
    20,
  );
  assert.ok(ok, `the panel did not paint an explanation of ${cls}${lastError ? `: ${lastError.message.split('\n')[0]}` : ''}`);
}

export default async function explain({ page, ui, workspace, theme, log, measure }) {
  // 1. The status bar item: no model yet → click → quick pick → the workspace's copy of the default model.
  const earlierLines = new Set(factLogLines()); // an earlier workbench's (theme's) log lines
  const item = factStatusItem(page);
  await item.waitFor({ timeout: 180_000 }); // the extension host starts with the first workbench of the run
  assert.match(await statusText(page), /FaCT: no model · cpu/);
  await item.click();
  await ui.answerQuickPick(page, DEFAULT_MODEL);
  assert.ok(
    await poll(async () => /FaCT: fashion-mnist-bcos\/model\.onnx · cpu/.test(await statusText(page)), 10_000),
    `status bar shows ${JSON.stringify(await statusText(page))}`,
  );

  // Choosing the model starts the warm-up (the worker opens it and prepares its explanation sessions in the
  // background), as opening a window with an active model does. The first Explain of the window is measured after it:
  // that is the case the warm-up exists for. (Waiting for its log line is waiting for a state, not for a time.)
  const warmLine = await poll(
    () => factLogLines().find((l) => !earlierLines.has(l) && /Warmed up the worker .*explanation sessions ready/.test(l)),
    180_000,
    200,
  );
  assert.ok(warmLine, 'choosing the model warmed up the worker and prepared its explanation');
  log(`warm-up: ${warmLine.replace(/^.*Warmed up/, 'Warmed up')}`);

  // 2. Open a sample in the image preview and explain "the image in the active editor" from the palette.
  await quickOpen(page, ui, 'models/fashion-mnist-bcos/samples/0002-trouser.png', { log });
  await ui.runCommand(page, 'FaCT: Explain Image', { log });
  const t0 = Date.now();
  await activateTab(page, 'Explain: 0002-trouser.png');
  const frame = await panelFrame(page, 'fact-explain-panel');
  await painted(frame, 'Trouser');
  measure('Explain Image command → painted panel (first webview of the window)', Date.now() - t0);
  // The same figure as the product measures it (the page's `painted` mark, from the command's start in the extension
  // host), with where the time went. Printed, never compared with a limit: this machine's load decides it.
  const paintLine = await poll(
    () =>
      factLogLines().find(
        (l) => !earlierLines.has(l) && /Explain panel painted \d+ ms .*0002-trouser\.png.*first paint of this panel/.test(l),
      ),
    15_000,
  );
  assert.ok(paintLine, "the extension logs the first panel's painted mark");
  const [, painted0, core, result, ready] =
    /painted (\d+) ms .*the core took (\d+) ms, its result came at (\d+) ms(?:, the page was ready at (\d+) ms)?/.exec(paintLine);
  measure("product: command → painted (the page's mark)", Number(painted0));
  measure("product: command → the core's result", Number(result));
  measure("product: the core's explanation", Number(core));
  if (ready) measure('product: command → the page said ready (webview start-up)', Number(ready));
  const pageLine = await poll(
    () => factLogLines().find((l) => !earlierLines.has(l) && /\[explain page, info\] first paint/.test(l)),
    5_000,
  );
  log(pageLine ? `the page: ${pageLine.replace(/^.*first paint/, 'first paint')}` : 'the page did not log its first paint');
  // Where the time before the first paint went, from the page's own clock (its document's start) and the extension
  // host's (the command's start): printed, never compared with a limit.
  const pageTimes =
    pageLine &&
    /first paint (\d+) ms .*script ran at (\d+) ms, it said ready at (\d+) ms, its explanation came at (\d+) ms; its service worker started at (\d+) ms, its HTML had come at (\d+) ms/.exec(
      pageLine,
    );
  if (pageTimes && ready) {
    const [pagePaint, script, pageReady, explanation, worker, html] = pageTimes.slice(1).map(Number);
    measure(
      "VS Code: command → the page's document starts (panel, webview frame, its service worker registered)",
      Number(ready) - pageReady,
    );
    measure("VS Code: the page's document waits for the webview's service worker", worker);
    measure("VS Code: the page's HTML arrives through the worker, parsed → our script runs", script - worker);
    measure('ours: the script evaluates → ready', pageReady - script);
    measure('ours + VS Code: ready → the explanation message arrives', explanation - pageReady);
    measure('ours: explanation → painted (render, decode)', pagePaint - explanation);
    assert.ok(html <= script, 'the HTML came before the script ran');
  }

  const shadow = (sel) => frame.locator(`fact-explain-panel ${sel}`);
  assert.equal((await shadow('#predicted-class').innerText()).trim(), 'Trouser');
  const names = (await shadow('#top-classes .class-name').allInnerTexts()).map((s) => s.trim());
  assert.equal(names.length, 5, `five top classes: ${JSON.stringify(names)}`);
  assert.equal(names[0], 'Trouser');
  for (const n of names) assert.ok(CLASSES.includes(n), `"${n}" is a class name from the model card`);
  const line = (await shadow('#completeness').innerText()).replace(/\s+/g, ' ');
  assert.match(line, /Σ x·W \+ bias = logit: −?\d+\.\d{4} \+ \(−2\.1972\) = −?\d+\.\d{4}/, `completeness line: ${line}`);
  assert.match(await shadow('#completeness-error').innerText(), /completeness error \d\.\de−\d+/);
  await ui.screenshot(page, `explain-${theme}`);

  // 3. Another class, with the mouse: the third of the top five.
  const third = names[2];
  let t = Date.now();
  await shadow(`#top-classes button:nth-child(3)`).click();
  await painted(frame, third);
  measure('class click → repainted', Date.now() - t);
  assert.match(
    await shadow('#prediction').innerText(),
    new RegExp(`explaining ${third.replace('/', '\\/')} \\(not the predicted class\\)`),
  );

  // 4. …and with the keyboard: focus the first class, arrow down to the second, Enter.
  await shadow('#top-classes button:nth-child(1)').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await painted(frame, names[1]);
  assert.equal(await shadow('#top-classes button:nth-child(2)').getAttribute('aria-pressed'), 'true');
  await ui.screenshot(page, `explain-other-class-${theme}`);

  // 5. The explorer's context menu on another sample: the same panel explains it.
  await page.keyboard.press('Control+Shift+E');
  const explorer = page.locator('.explorer-folders-view');
  await explorer.waitFor({ timeout: 10_000 });
  for (const folder of ['models', 'fashion-mnist-bcos', 'samples']) {
    const row = treeRow(explorer, folder);
    await row.waitFor({ timeout: 10_000 });
    if ((await row.getAttribute('aria-expanded')) !== 'true') await row.click();
  }
  const pullover = treeRow(explorer, '0001-pullover.png');
  await pullover.waitFor({ timeout: 10_000 });
  await contextMenu(page, pullover, 'Explain Image');
  t = Date.now();
  await activateTab(page, 'Explain: 0001-pullover.png');
  const frame2 = await panelFrame(page, 'fact-explain-panel');
  await painted(frame2, 'Pullover');
  measure('explorer menu → painted (panel already open)', Date.now() - t);

  // 6. Export: the save dialog (the web workbench's simple dialog) proposes a file beside the image; accept it.
  if (theme === 'dark') {
    // The model ships an SAE: wait for the concept slots (and their top images) so that the report carries them.
    await frame2.locator('fact-explain-panel fact-concept-traces section[data-strips="ready"]').waitFor({ timeout: 30_000 });
    await frame2.locator('fact-explain-panel #export-report').click();
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.waitFor({ state: 'visible', timeout: 10_000 });
    // The simple dialog fills in the folder first, then the proposed name.
    const proposed = await poll(async () => {
      const v = await box.inputValue();
      return /\.html$/.test(v) && v;
    }, 10_000);
    assert.ok(proposed, `the save dialog proposes a file name; it shows ${JSON.stringify(await box.inputValue())}`);
    assert.match(proposed, /samples\/0001-pullover-Pullover-fact\.html$/, `proposed ${proposed}`);
    await box.press('Enter');
    const file = path.join(workspace, 'models', 'fashion-mnist-bcos', 'samples', '0001-pullover-Pullover-fact.html');
    assert.ok(await poll(() => fs.existsSync(file), 10_000), `${file} was written`);
    const html = fs.readFileSync(file, 'utf8');
    // The three pictures of the plain explanation; through the SAE, the full logit, the other concepts, and each of
    // the six traced concepts' trace and top images.
    assert.equal((html.match(/src="data:image\/png;base64,/g) || []).length, 3 + 2 + 6 * 2);
    assert.match(html, /Σ c_k \+ bias = logit/);
    log(`report: ${(html.length / 1024).toFixed(0)} KB`);
  }
}
