// UI test: "FaCT: Open Model" from the command palette → pick a model in the quick pick → the model webview lists
// the model's inputs (#model-inputs, which must name `input`) and layers (#model-layers, at least one).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

export const title = 'FaCT: Open Model shows inputs and layers';
export const themes = ['light', 'dark'];
export const timeout = 300_000;

const PREFERRED_MODEL = 'models/fashion-mnist-bcos/model.onnx';

/** The workspace-relative path of the model to pick: the preferred one, else the first .onnx found. */
function pickModel(workspace) {
  if (fs.existsSync(path.join(workspace, PREFERRED_MODEL))) return PREFERRED_MODEL;
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.onnx')) found.push(path.relative(workspace, full).split(path.sep).join('/'));
    }
  };
  walk(workspace);
  assert.ok(found.length, `no .onnx model in the test workspace ${workspace}`);
  return found[0];
}

/** Polls `fn` until it returns a truthy value or `ms` pass; returns the last value. */
async function poll(fn, ms) {
  const deadline = Date.now() + ms;
  let value;
  while (!(value = await fn()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return value;
}

export default async function openModel({ page, ui, workspace, theme, log, measure }) {
  const model = pickModel(workspace);
  log(`model: ${model}`);

  const { ms: paletteMs } = await ui.timeUntil(() => ui.runCommand(page, 'FaCT: Open Model', { log }));
  measure('command palette → command run', paletteMs);

  const t0 = Date.now();
  await ui.answerQuickPick(page, model);

  const frame = await ui.webviewFrame(page, undefined, { timeoutMs: 60_000 });
  const inputs = frame.locator('#model-inputs');
  const layers = frame.locator('#model-layers');
  await inputs.waitFor({ timeout: 120_000 });

  // An input named `input`: a row marked data-name="input", or else the word "input" as a whole name in what the
  // list shows (names may come with types and shapes; deepText also reads web components' shadow DOM). Locators
  // pierce open shadow roots, so this works whether or not the panel is a web component.
  const namesInput = (text) => /(^|[\s,:;(])input([\s,:;)[]|$)/.test(text);
  const inputsText = await poll(async () => {
    if (await inputs.locator('[data-name="input"]').count()) return 'data-name="input"';
    const text = await ui.deepText(inputs).catch(() => '');
    return namesInput(text) ? text : '';
  }, 30_000);
  assert.ok(inputsText, `#model-inputs does not list an input named "input"; it shows: ${JSON.stringify(await ui.deepText(inputs))}`);
  measure('quick pick → inputs shown', Date.now() - t0);

  // At least one layer: list/tree/table items inside #model-layers (also inside web components' shadow DOM), or
  // else element children that are not headings.
  const countLayers = () =>
    layers.evaluate((root) => {
      const ITEM = 'li, tr, [role=treeitem], [role=row], [role=listitem], [role=option], vscode-tree-item, [data-layer]';
      let items = 0;
      const walk = (node) => {
        for (const el of node.querySelectorAll('*')) {
          if (el.matches(ITEM) && !el.closest('thead')) items++;
          if (el.shadowRoot) walk(el.shadowRoot);
        }
      };
      if (root.shadowRoot) walk(root.shadowRoot);
      walk(root);
      return items || [...root.children].filter((el) => !/^(H[1-6]|CAPTION|THEAD|STYLE|SCRIPT)$/.test(el.tagName)).length;
    });
  const layerCount = await poll(countLayers, 30_000);
  assert.ok(layerCount >= 1, `#model-layers lists no layer; it shows: ${JSON.stringify(await ui.deepText(layers))}`);
  measure('quick pick → layers shown', Date.now() - t0);
  log(`${layerCount} layer element(s)`);

  await ui.screenshot(page, `open-model-${theme}`);
}
