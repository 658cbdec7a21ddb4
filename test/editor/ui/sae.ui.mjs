// UI test: the SAE panels through the real workbench, on the default model and the SAE it ships for layer3.
//   1. the status bar's SAE item; FaCT: Explain Image on a sample → the concept slots fill: bars (concept ids),
//      the completeness line Σ c_k + bias = logit, each traced concept's trace and top-image strip;
//   2. a click on a concept bar → the concept panel (its id, 16 top images, classes, C²);
//   3. its "Consistency (C²)" button → the consistency panel: histogram, sort, filter, a row click → concept; the FaCT
//      view's SAE item (its numbers) and its context menu's Open Concept (concepts by mean contribution);
//   4. hovers in model.py: over `self.layer3` (metrics, top concepts) and over the sample's path (prediction);
//   5. FaCT: Train SAE from the palette on a feature store (k and dictionary size in input boxes) → the training
//      panel's live curves, Cancel, Resume, finished;
//   6. the same panels in the light theme (Preferences: Toggle between Light/Dark Themes), then back to dark.
// Screenshots: explain-sae-*, concept-*, consistency-*, tree-sae-dark, hover-layer-*, hover-image-dark, training-*.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODEL, activateTab, contextMenu, factStatusItem, panelFrame, poll, quickOpen, treeRow } from './factUi.mjs';

export const title = 'FaCT: SAE panels (explain with concepts, concept, consistency, training, hovers) in dark and light';
export const themes = ['dark'];
export const timeout = 480_000; // training until Cancel, then to the end, on a loaded machine

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/**
 * Collects a feature store of the workspace's default model (layer4, 600 images) with the CLI: with 2,048 concepts,
 * training on it takes about 15 s on an idle machine (longer under load), so the test's Cancel reaches a running job.
 */
function collectFeatures(extensionRoot, workspace) {
  const model = path.join(workspace, DEFAULT_MODEL);
  const out = path.join(path.dirname(model), 'features', 'layer4');
  fs.rmSync(out, { recursive: true, force: true });
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        path.join(extensionRoot, 'bin', 'fact.js'),
        'collect',
        model,
        '--layer',
        'layer4',
        '--split',
        'train',
        '--limit',
        '600',
        '--out',
        out,
        '--json',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`fact collect failed (${code}): ${err.slice(-400)}`))));
  });
}

const shadowText = async (loc) => (await loc.innerText()).replace(/\s+/g, ' ').trim();

async function toggleTheme(page, ui, log, want) {
  await ui.runCommand(page, 'Preferences: Toggle between Light/Dark Themes', { log });
  const cls = want === 'light' ? 'vs' : 'vs-dark';
  assert.ok(
    await poll(() => page.locator('.monaco-workbench').evaluate((el, c) => el.classList.contains(c), cls), 15_000),
    `the workbench turned ${want}`,
  );
  await page.waitForTimeout(400);
}

/** Hovers over the first token of the editor line containing `lineText` whose text matches `token`, until a FaCT hover showing `want` appears. */
async function hoverUntil(page, lineText, token, want, ms = 30_000) {
  const line = page.locator('.monaco-editor .view-line', { hasText: lineText }).first();
  await line.waitFor({ timeout: 10_000 });
  const span = line.locator('span span', { hasText: token }).first();
  // Point at the start of the token (hovering its centre can scroll a long string sideways).
  const pointAt = async () => {
    const box = await span.boundingBox();
    if (!box) throw new Error(`${token} is not on screen`);
    await page.mouse.move(box.x + Math.min(box.width / 2, 30), box.y + box.height / 2);
  };
  const hover = page.locator('.monaco-hover:visible').filter({ hasText: 'FaCT' }).first();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await page.mouse.move(5, 5);
    await page.waitForTimeout(150);
    await pointAt();
    if (
      await hover.waitFor({ timeout: 3000 }).then(
        () => true,
        () => false,
      )
    ) {
      const text = await hover.innerText();
      if (want.test(text)) return { hover, text };
    }
    await page.waitForTimeout(700);
  }
  throw new Error(`no FaCT hover matching ${want} over ${token}`);
}

export default async function sae(ctx) {
  try {
    await run(ctx);
  } finally {
    // Leave the workspace as it was: no trained checkpoint or feature store for the tests after this one.
    const dir = path.join(ctx.workspace, path.dirname(DEFAULT_MODEL));
    for (const d of ['saes/layer4', 'features/layer4']) fs.rmSync(path.join(dir, d), { recursive: true, force: true });
  }
}

/** Presses a workbench shortcut (a focused webview would swallow it). */
async function key(page, combo) {
  await page
    .locator('.monaco-workbench .part.statusbar')
    .focus()
    .catch(() => {});
  await page.keyboard.press(combo);
}

/** Reveals line `n` of the active editor (Go to Line), so that it is rendered. */
async function goToLine(page, ui, n) {
  await page.keyboard.press('Control+G');
  const box = page.locator('.quick-input-widget .quick-input-box input');
  await box.waitFor({ state: 'visible', timeout: 5000 });
  await box.fill(`:${n}`);
  await page.waitForTimeout(150);
  await box.press('Enter');
  await page.waitForTimeout(200);
}

async function run({ page, ui, workspace, extensionRoot, log, measure, screenshot }) {
  const collecting = collectFeatures(extensionRoot, workspace);
  collecting.catch(() => undefined);
  const modelPy = fs.readFileSync(path.join(workspace, 'model.py'), 'utf8').split('\n');
  const lineOf = (text) => modelPy.findIndex((l) => l.includes(text)) + 1;

  // 1. The active model: the status bar item → the workspace's default model; its SAE appears beside it.
  const item = factStatusItem(page);
  await item.waitFor({ timeout: 180_000 });
  await item.click();
  await ui.answerQuickPick(page, DEFAULT_MODEL);
  const saeItem = page.locator('.statusbar-item').filter({ hasText: 'SAE layer3' }).first();
  await saeItem.waitFor({ timeout: 20_000 });

  await quickOpen(page, ui, 'models/fashion-mnist-bcos/samples/0002-trouser.png', { log });
  let t = Date.now();
  await ui.runCommand(page, 'FaCT: Explain Image', { log });
  await activateTab(page, 'Explain: 0002-trouser.png');
  const ex = await panelFrame(page, 'fact-explain-panel');
  const bars = ex.locator('fact-explain-panel fact-concept-bars');
  const traces = ex.locator('fact-explain-panel fact-concept-traces');
  await bars.locator('#concept-completeness-values').waitFor({ timeout: 60_000 });
  measure('Explain Image → concept bars', Date.now() - t);
  assert.equal((await ex.locator('fact-explain-panel #explained-class').innerText()).trim(), 'Trouser');
  const line = await shadowText(bars.locator('#concept-completeness'));
  assert.match(line, /^Σ c_k \+ bias = logit: −?\d+\.\d{4} \+ \(−\d\.\d{4}\) = −?\d+\.\d{4}$/, `completeness line: ${line}`);
  assert.match(await shadowText(bars.locator('#concept-completeness-error')), /completeness error \d\.\de−\d+: the concepts add up/);
  const ids = await bars
    .locator('#concept-bars [data-concept]')
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-concept'))));
  assert.ok(ids.length >= 3, `concept bars: ${ids}`);
  assert.match(await shadowText(bars.locator('[data-other]')), /\d+ other concepts/);
  assert.match(await shadowText(bars.locator('#concepts-meta')), /Through SAE layer3 on layer layer3 · \d+ concepts present/);
  // Each traced concept: its trace on the image and (once read from the atlas) its strip of top images.
  const cards = traces.locator('#concept-traces .card');
  assert.equal(await cards.count(), 6);
  assert.ok(
    await poll(
      () => traces.locator('.strip img').evaluateAll((imgs) => imgs.length === 6 && imgs.every((i) => i.complete && i.naturalWidth > 0)),
      30_000,
    ),
    'six strips of top images',
  );
  const traceIds = await cards.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-concept'))));
  assert.deepEqual(traceIds, ids.slice(0, 6), 'the traced concepts are the first bars');
  await bars.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(200);
  await screenshot('explain-sae-dark');
  await traces.locator('#concept-traces').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(200);
  await screenshot('explain-sae-traces-dark');

  // 2. A click on the first concept's bar opens the concept panel.
  const first = ids[0];
  t = Date.now();
  await bars.locator(`#concept-bars [data-concept="${first}"]`).click();
  await activateTab(page, `Concept ${first}`);
  const cp = await panelFrame(page, 'fact-concept-panel');
  await cp.locator('fact-concept-panel #concept-tiles').waitFor({ timeout: 60_000 });
  measure('concept bar click → concept panel', Date.now() - t);
  assert.equal((await cp.locator('fact-concept-panel #concept-title').innerText()).trim(), `Concept ${first}`);
  assert.equal(await cp.locator('fact-concept-panel #concept-tiles .tile').count(), 16, '16 top images');
  const classNames = (await cp.locator('fact-concept-panel #concept-classes .class-name').allInnerTexts()).map((s) => s.trim());
  assert.ok(classNames.length > 0 && classNames.every((n) => CLASSES.includes(n)), `classes: ${classNames}`);
  const labels = (await cp.locator('fact-concept-panel #concept-tiles .label').allInnerTexts()).map((s) => s.trim());
  assert.ok(
    labels.every((n) => CLASSES.includes(n)),
    `labels: ${labels}`,
  );
  assert.match(await shadowText(cp.locator('fact-concept-panel #stat-c2')), /^−?\d\.\d{3}$/);
  assert.match(await shadowText(cp.locator('fact-concept-panel #stat-c2-random')), /random traces −?\d\.\d{3} · Δ [+−]\d\.\d{3}/);
  await screenshot('concept-dark');

  // 3. The consistency panel from the concept panel's button.
  t = Date.now();
  await cp.locator('fact-concept-panel vscode-button', { hasText: 'Consistency (C²)' }).click();
  await activateTab(page, 'C²: layer3');
  const cs = await panelFrame(page, 'fact-consistency-panel');
  const table = cs.locator('fact-consistency-panel #consistency-table');
  await table.waitFor({ timeout: 30_000 });
  measure('consistency panel', Date.now() - t);
  assert.match(await shadowText(cs.locator('fact-consistency-panel #stat-mean')), /^\d\.\d{3}$/);
  // The histogram is inline SVG in the theme's colours, its "random" and "mean" labels apart.
  const histogram = await cs.locator('fact-consistency-panel #consistency-histogram').evaluate((el) => {
    const r = el.shadowRoot;
    const boxes = [...r.querySelectorAll('text.label')].map((t) => t.getBoundingClientRect());
    const overlap = boxes.some((a, i) =>
      boxes.some((b, j) => j > i && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom),
    );
    return {
      bins: r.querySelectorAll('rect.bin').length,
      labels: boxes.length,
      overlap,
      background: getComputedStyle(r.querySelector('svg')).backgroundColor,
    };
  });
  assert.deepEqual(
    { bins: histogram.bins, labels: histogram.labels, overlap: histogram.overlap },
    { bins: 20, labels: 2, overlap: false },
    'the histogram is shown',
  );
  assert.notEqual(histogram.background, 'rgb(255, 255, 255)', 'no white block in the panel');
  const total = Number(/of (\d+) concepts/.exec(await shadowText(cs.locator('fact-consistency-panel #consistency-count')))[1]);
  // Sorted by C² (descending) at first; by concept number after a click on its header.
  const toNumber = (t) => Number(t.replace('−', '-'));
  const scores = (await table.locator('tbody tr td:nth-child(2)').allInnerTexts()).slice(0, 20).map(toNumber);
  assert.deepEqual(
    scores,
    [...scores].sort((a, b) => b - a),
    'sorted by C², largest first',
  );
  await table.locator('th[data-sort="concept"] button').click();
  const conceptsCol = (await table.locator('tbody tr td:nth-child(1)').allInnerTexts()).slice(0, 20).map(Number);
  assert.deepEqual(
    conceptsCol,
    [...conceptsCol].sort((a, b) => a - b),
    'sorted by concept number',
  );
  await cs.locator('fact-consistency-panel #consistency-filter').fill('Trouser');
  const mostly = (await table.locator('tbody tr td:nth-child(8)').allInnerTexts()).map((s) => s.trim());
  assert.ok(
    mostly.length > 0 && mostly.length < total && mostly.every((m) => m === 'Trouser'),
    `filtered to Trouser concepts (${mostly.length} of ${total})`,
  );
  await screenshot('consistency-dark');
  const row = table.locator('tbody tr').first();
  const rowConcept = Number(await row.getAttribute('data-concept'));
  await row.click();
  await activateTab(page, `Concept ${rowConcept}`);
  const cp2 = await panelFrame(page, 'fact-concept-panel');
  assert.ok(
    await poll(
      async () =>
        (
          await cp2
            .locator('fact-concept-panel #concept-title')
            .innerText()
            .catch(() => '')
        ).trim() === `Concept ${rowConcept}` && (await cp2.locator('fact-concept-panel #concept-tiles').count()) > 0,
      30_000,
    ),
    'a row click opens its concept',
  );

  // 3b. The FaCT view: the shipped SAE under layer3 with its numbers; its context menu opens a concept (the quick pick
  //     lists the concepts by mean contribution).
  await page.locator('.activitybar .action-item .action-label[aria-label^="FaCT"]').first().click();
  const view = page
    .locator('.pane')
    .filter({ has: page.locator('.pane-header', { hasText: 'Models' }) })
    .first();
  const wsModel = treeRow(view, 'model.onnx');
  await wsModel.waitFor({ timeout: 30_000 });
  if ((await wsModel.getAttribute('aria-expanded')) !== 'true') await wsModel.click();
  const layer3 = view
    .locator('.monaco-list-row[aria-level="2"]')
    .filter({ has: page.locator('.label-name', { hasText: /^\s*layer3\s*$/ }) })
    .first();
  await layer3.waitFor({ timeout: 30_000 });
  if ((await layer3.getAttribute('aria-expanded')) !== 'true') await layer3.click();
  const saeRow = view.locator('.monaco-list-row[aria-level="3"]').first();
  await saeRow.waitFor({ timeout: 15_000 });
  const saeText = (await saeRow.innerText()).replace(/\s+/g, ' ');
  assert.match(saeText, /layer3 ?active · k 8 · 1,024 latents · acc \d+\.\d % · C² \d\.\d{3}/, `the SAE row: ${saeText}`);
  // Its tooltip: accuracy with the SAE, mean C² against random traces.
  await saeRow.hover();
  const tip = page.locator('.monaco-hover:visible, .workbench-hover:visible').filter({ hasText: 'Accuracy with the SAE' }).first();
  if (
    await tip.waitFor({ timeout: 5000 }).then(
      () => true,
      () => false,
    )
  )
    assert.match(await tip.innerText(), /Mean C²: \d\.\d{3} \(random traces: \d\.\d{3}/);
  await screenshot('tree-sae-dark');
  await page.mouse.move(5, 5);
  await contextMenu(page, saeRow, 'Open Concept');
  const firstPick = page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first();
  await firstPick.waitFor({ timeout: 30_000 });
  const picked = (await firstPick.locator('.label-name').first().innerText()).trim();
  assert.match(await firstPick.innerText(), /#1 by mean contribution/);
  await firstPick.click();
  await activateTab(page, picked);
  const cp3 = await panelFrame(page, 'fact-concept-panel');
  assert.ok(
    await poll(
      async () =>
        (
          await cp3
            .locator('fact-concept-panel #concept-rank')
            .innerText()
            .catch(() => '')
        ).startsWith('#1 of 1024'),
      30_000,
    ),
    `${picked} is the first by mean contribution`,
  );
  await key(page, 'Control+Shift+E');

  // 4. Hovers in model.py.
  await key(page, 'Control+1'); // the first editor group: the FaCT panels keep theirs
  await quickOpen(page, ui, 'model.py', { log });
  await goToLine(page, ui, lineOf('x = self.layer3(x)'));
  t = Date.now();
  const layerHover = await hoverUntil(page, 'x = self.layer3(x)', /layer3/, /Top concepts by mean contribution/);
  measure('hover over self.layer3 → top concepts', Date.now() - t);
  assert.match(layerHover.text, /SAE layer3 of B-cos CNN on Fashion-MNIST/);
  assert.ok(
    await poll(
      () => layerHover.hover.locator('img').evaluateAll((imgs) => imgs.length >= 3 && imgs.every((i) => i.complete && i.naturalWidth > 0)),
      10_000,
    ),
    'concept thumbnails in the hover',
  );
  await screenshot('hover-layer-dark');
  await goToLine(page, ui, lineOf('0002-trouser.png'));
  t = Date.now();
  const imageHover = await hoverUntil(page, '0002-trouser.png', /0002-trouser/, /Predicted/);
  measure('hover over the image path → prediction', Date.now() - t);
  assert.match(imageHover.text, /Predicted Trouser/);
  assert.match(imageHover.text, /Σ c_k \+ bias = logit/);
  await screenshot('hover-image-dark');
  await page.mouse.move(5, 5);

  // 5. FaCT: Train SAE on the collected store: live curves, Cancel, Resume.
  await collecting;
  await ui.runCommand(page, 'FaCT: Train SAE', { log });
  await ui.answerInputBox(page, '2048', { prompt: 'Dictionary size' });
  await ui.answerInputBox(page, '8', { prompt: 'k: concepts active' });
  const tr = await panelFrame(page, 'fact-training-panel');
  const points = () =>
    tr
      .locator('fact-training-panel fact-line-chart[tone="loss"] figure')
      .getAttribute('data-points')
      .then(Number, () => 0);
  assert.ok(await poll(async () => (await points()) >= 2, 30_000), 'the loss curve has points while training runs');
  assert.equal(await tr.locator('fact-training-panel #training-state').getAttribute('data-state'), 'running');
  await screenshot('training-dark');
  await tr.locator('fact-training-panel #training-cancel').click();
  const state = () =>
    tr
      .locator('fact-training-panel #training-state')
      .getAttribute('data-state')
      .catch(() => '');
  assert.ok(
    await poll(async () => ['cancelled', 'succeeded', 'failed'].includes(await state()), 60_000),
    'the training stopped after Cancel',
  );
  assert.equal(
    await state(),
    'cancelled',
    'Cancel reached the running training (if it says succeeded, the job was too short for the test)',
  );
  // Resume appears once the stopping worker has saved the state (after its current step: seconds on a loaded machine).
  await tr.locator('fact-training-panel #training-resume').waitFor({ timeout: 120_000 });
  const before = await points();
  await tr.locator('fact-training-panel #training-resume').click();
  assert.ok(await poll(async () => (await state()) === 'succeeded', 300_000), 'the resumed training finished');
  assert.ok((await points()) > before, 'the resumed run continued the curves');
  await tr.locator('fact-training-panel #training-evaluate').waitFor({ timeout: 5000 });
  await screenshot('training-finished-dark');
  // The trained SAE became the model's; the SAE status item chooses the shipped one again.
  const trained = page.locator('.statusbar-item').filter({ hasText: 'SAE layer4/k8-2048' }).first();
  await trained.waitFor({ timeout: 20_000 });
  await trained.click();
  await ui.answerQuickPick(page, 'layer3');
  await saeItem.waitFor({ timeout: 20_000 });

  // 6. Light: the same panels again.
  await ui.runCommand(page, 'Notifications: Clear All Notifications', { log });
  await toggleTheme(page, ui, log, 'light');
  try {
    for (const [tab, tag, name, scroll] of [
      ['Explain: 0002-trouser.png', 'fact-explain-panel', 'explain-sae-light', 'fact-concept-bars'],
      [picked, 'fact-concept-panel', 'concept-light', null],
      ['C²: layer3', 'fact-consistency-panel', 'consistency-light', null],
      [`Training: k8-2048`, 'fact-training-panel', 'training-light', null],
    ]) {
      await activateTab(page, tab);
      const f = await panelFrame(page, tag);
      if (tag === 'fact-explain-panel') {
        await f.locator(`${tag} fact-concept-bars #concept-completeness-values`).waitFor({ timeout: 30_000 });
        await poll(
          () =>
            f
              .locator(`${tag} fact-concept-traces .strip img`)
              .evaluateAll((imgs) => imgs.length === 6 && imgs.every((i) => i.complete && i.naturalWidth > 0)),
          20_000,
        );
      }
      if (tag === 'fact-concept-panel') await f.locator(`${tag} #concept-tiles`).waitFor({ timeout: 30_000 });
      if (tag === 'fact-consistency-panel') await f.locator(`${tag} #consistency-table`).waitFor({ timeout: 30_000 });
      if (tag === 'fact-training-panel') await f.locator(`${tag} #training-charts`).waitFor({ timeout: 30_000 });
      if (scroll)
        await f
          .locator(`${tag} ${scroll}`)
          .first()
          .evaluate((el) => el.scrollIntoView({ block: 'start' }));
      await page.waitForTimeout(300);
      await screenshot(name);
    }
    // model.py is still the active editor of the first group.
    await key(page, 'Control+1');
    await goToLine(page, ui, lineOf('x = self.layer3(x)'));
    await hoverUntil(page, 'x = self.layer3(x)', /layer3/, /Top concepts by mean contribution/);
    await screenshot('hover-layer-light');
    await page.mouse.move(5, 5);
  } finally {
    await toggleTheme(page, ui, log, 'dark');
  }
}
