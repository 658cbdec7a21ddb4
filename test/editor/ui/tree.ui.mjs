// UI test: the FaCT view in its own activity-bar container lists the workspace's models and the embedded default;
// a model expands (mouse, and keyboard) to its layers; "Collect Features" runs from a layer's context menu and from
// the palette as a job with a cancellable progress notification, a second copy is refused, and jobs are cancelled.
import assert from 'node:assert/strict';
import {
  DEFAULT_MODEL,
  clickNotificationButton,
  contextMenu,
  notifications,
  poll,
  statusText,
  treeRow,
  waitForNotification,
} from './factUi.mjs';

export const title = 'FaCT view: models → layers, Collect Features as a cancellable job';
export const themes = ['light', 'dark'];
export const timeout = 300_000;

const EMBEDDED = 'B-cos CNN on Fashion-MNIST';

export default async function tree({ page, ui, theme, log, measure }) {
  // 1. The activity bar entry opens the view.
  const entry = page.locator('.activitybar .action-item .action-label[aria-label^="FaCT"]').first();
  await entry.waitFor({ timeout: 60_000 });
  await entry.click();
  const view = page
    .locator('.pane')
    .filter({ has: page.locator('.pane-header', { hasText: 'Models' }) })
    .first();
  await view.waitFor({ timeout: 15_000 });
  const embedded = treeRow(view, EMBEDDED);
  await embedded.waitFor({ timeout: 30_000 });
  await treeRow(view, 'model.onnx').waitFor({ timeout: 10_000 });
  await treeRow(view, 'tiny.onnx').waitFor({ timeout: 10_000 });

  // 2. Expand the embedded default with the mouse: its candidate layers, card layers marked.
  let t = Date.now();
  await embedded.click();
  const layer3 = treeRow(view, 'layer3');
  await layer3.waitFor({ timeout: 30_000 });
  measure('expand model → layers listed', Date.now() - t);
  const layerText = (await layer3.innerText()).replace(/\s+/g, ' ');
  assert.match(layerText, /layer3 ?\[128, 7, 7\] · card · 1 SAE/, `layer3 row: ${layerText}`);
  for (const l of ['layer1', 'layer2', 'layer4', 'classifier']) await treeRow(view, l).waitFor({ timeout: 5000 });

  // 3. …and the workspace's copy with the keyboard: select, Right arrow expands.
  const wsModel = treeRow(view, 'model.onnx');
  await wsModel.click();
  await page.keyboard.press('ArrowRight');
  assert.ok(
    await poll(async () => (await view.locator('.monaco-list-row .label-name', { hasText: /^\s*layer3\s*$/ }).count()) >= 2, 15_000),
    'the workspace model expanded with the keyboard',
  );
  await ui.screenshot(page, `tree-${theme}`);

  // 4. Collect Features from the context menu of the embedded model's layer4: a job with a progress notification.
  const layer4 = treeRow(view, 'layer4');
  await contextMenu(page, layer4, 'Collect Features');
  await waitForNotification(page, /Collecting features of layer4/);
  assert.ok(
    await poll(async () => /\$?\(?.*%|sync/.test(await statusText(page)) || /FaCT: default model/.test(await statusText(page)), 10_000),
  );
  await waitForNotification(page, /Collecting features of layer4.*\d+\/\d+ images/, 60_000); // progress has arrived
  await ui.screenshot(page, `collect-progress-${theme}`);
  log(`status bar while collecting: ${await statusText(page)}`);
  await clickNotificationButton(page, /Collecting features of layer4/, 'Cancel');
  await waitForNotification(page, /feature collection for layer4 was cancelled; run it again to resume/);

  if (theme !== 'dark') return;
  // 5. From the palette: the active model is known (the tree set it), so only the layer is asked; a second copy of the
  //    same job is refused; FaCT: Cancel Job… stops it.
  await ui.runCommand(page, 'FaCT: Collect Features', { log });
  await ui.answerQuickPick(page, 'layer2');
  await waitForNotification(page, /Collecting features of layer2/);
  await ui.runCommand(page, 'FaCT: Collect Features', { log });
  await ui.answerQuickPick(page, 'layer2');
  const refused = await waitForNotification(page, /FaCT is already collecting features of layer2/);
  log(`refused: ${refused}`);
  await ui.screenshot(page, `collect-refused-${theme}`);
  await ui.runCommand(page, 'FaCT: Cancel Job…', { log });
  await waitForNotification(page, /feature collection for layer2 was cancelled/);
  log(`notifications: ${JSON.stringify(await notifications(page))}`);
  void DEFAULT_MODEL;
}
