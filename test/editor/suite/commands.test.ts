// Every contributed command runs from the command API with a scripted UI (dialogs and pickers answered in code),
// and a job outlives the panel it was started from.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FeatureManifest } from '../../../src/core/features/manifest';
import type { ModelNode } from '../../../src/extension/tree/factTree';
import { factApi, sampleImage, waitFor, webviewTabs, workspaceDefaultModel, workspaceRoot } from './helpers';

suite('FaCT: every command', () => {
  teardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test("Select Model… (the status bar's command) remembers the pick; Set as Active Model takes a tree item", async () => {
    const api = await factApi();
    const model = workspaceDefaultModel();
    const restore = api.scriptUi({ quickPick: async (items) => (await items).find((i) => i.label === 'models/tiny/tiny.onnx') });
    try {
      const picked = await vscode.commands.executeCommand<string>('fact.selectModel');
      assert.match(picked, /tiny\.onnx$/);
      assert.equal(api.choices.model(), picked);
      assert.match(api.statusText().text, /FaCT: tiny\/tiny\.onnx · cpu/);
    } finally {
      restore();
    }
    const node = ((await api.tree.getChildren()) as ModelNode[]).find((n) => n.file === model)!;
    await vscode.commands.executeCommand('fact.setActiveModel', node);
    assert.equal(api.choices.model(), model);
  });

  test("Choose Dataset… offers the card's splits and an image folder, and remembers the choice", async () => {
    const api = await factApi();
    const model = workspaceDefaultModel();
    let labels: string[] = [];
    const restore = api.scriptUi({
      quickPick: async (items) => {
        const all = await items;
        labels = all.map((i) => i.label);
        return all.find((i) => i.label === 'Model card: test');
      },
    });
    try {
      const spec = await vscode.commands.executeCommand('fact.chooseDataset', model);
      assert.deepEqual(spec, { kind: 'split', split: 'test' });
    } finally {
      restore();
    }
    assert.deepEqual(labels, ['Model card: test', 'Model card: train', 'Image folder…']);
    assert.deepEqual(api.choices.dataset(model), { kind: 'split', split: 'test' });
    await api.choices.setDataset(model, undefined);
  });

  test('Explain an Image with This Model… asks for the image and explains it with that model', async () => {
    const api = await factApi();
    const model = workspaceDefaultModel();
    const node = ((await api.tree.getChildren()) as ModelNode[]).find((n) => n.file === model)!;
    const restore = api.scriptUi({ openDialog: async () => [vscode.Uri.file(sampleImage('0019-tshirt-top.png'))] });
    try {
      await vscode.commands.executeCommand('fact.explainImageWithModel', node);
    } finally {
      restore();
    }
    const panel = api.explainPanel()!;
    const view = await waitFor(
      'the explanation',
      () => panel.currentView?.imageName === '0019-tshirt-top.png' && panel.currentView,
      30_000,
    );
    assert.equal(view.model, model);
  });

  test('Refresh Models, Reveal in Explorer, Show Log and Cancel Job… run', async () => {
    const api = await factApi();
    const refreshed = api.tree.nextRefresh();
    await vscode.commands.executeCommand('fact.refreshModels');
    await refreshed;
    const node = ((await api.tree.getChildren()) as ModelNode[]).find((n) => n.file === workspaceDefaultModel())!;
    await vscode.commands.executeCommand('fact.revealInExplorer', node);
    await vscode.commands.executeCommand('fact.showLog');
    const infos: string[] = [];
    const restore = api.scriptUi({
      info: async (m) => {
        infos.push(m);
        return undefined;
      },
    });
    try {
      assert.equal(await vscode.commands.executeCommand('fact.cancelJob'), false);
    } finally {
      restore();
    }
    assert.deepEqual(infos, ['FaCT: no job is running.']);
  });

  test('a job started from the model panel outlives the panel', async function () {
    this.timeout(60_000);
    const api = await factApi();
    const model = workspaceDefaultModel();
    const outDir = path.join(workspaceRoot(), '.fact-test', 'features-layer4');
    await api.openModel(vscode.Uri.file(model));
    await waitFor('the model panel', () => webviewTabs('fact.model')[0]);
    const restore = api.scriptUi({ info: async () => undefined });
    try {
      // What the panel's "Collect features" link does, with a short dataset and a private output folder.
      const done = vscode.commands.executeCommand<FeatureManifest | undefined>('fact.collectFeatures', {
        model,
        layer: 'layer4',
        outDir,
        limit: 200,
      });
      await waitFor('the job', () => api.jobs.find('collect', `${model}#layer4`));
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      assert.equal(webviewTabs('fact.model').length, 0, 'the panel is closed');
      const m = await done;
      assert.equal(m?.imagesDone, 200);
    } finally {
      restore();
      await fs.rm(path.join(workspaceRoot(), '.fact-test'), { recursive: true, force: true });
    }
  });
});
