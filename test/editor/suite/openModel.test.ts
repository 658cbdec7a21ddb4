import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ModelInspection } from '../../../src/core/model/inspectModel';
import { activateExtension, tinyModelPath, waitFor, webviewTabs } from './helpers';

interface FactApi {
  inspect(file: string): Promise<ModelInspection>;
}

suite('FaCT: Open Model', () => {
  let api: FactApi;
  let model: string;

  suiteSetup(async () => {
    const ext = await activateExtension();
    api = ext.exports as FactApi;
    model = tinyModelPath(ext);
  });

  teardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('the command opens a model panel beside the editor', async () => {
    await vscode.commands.executeCommand('fact.openModel', vscode.Uri.file(model));
    const tab = await waitFor('the model panel tab', () => webviewTabs('fact.model')[0]);
    assert.match(tab.label, /Model: tiny\/tiny\.onnx/);
  });

  test('opening the same model again reveals the existing panel', async () => {
    await vscode.commands.executeCommand('fact.openModel', vscode.Uri.file(model));
    await vscode.commands.executeCommand('fact.openModel', vscode.Uri.file(model));
    await waitFor('the model panel tab', () => webviewTabs('fact.model')[0]);
    assert.equal(webviewTabs('fact.model').length, 1);
  });

  test('inspection runs in the worker thread and finds the layers', async () => {
    const r = await api.inspect(model);
    assert.equal(r.imageInput.name, 'input');
    assert.deepEqual(r.layers.map((l) => l.label).slice(0, 3), ['layer1', 'layer2', 'layer3']);
    assert.deepEqual(r.layers.find((l) => l.label === 'layer2')?.shape, [8, 8, 8]);
  });

  test('the extension host event loop stays responsive while a model runs', async () => {
    // Sample the event loop while inspections (decode + session + probe run) happen in the worker.
    let worstGap = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 5);
    try {
      await Promise.all([api.inspect(model), api.inspect(model), api.inspect(model)]);
    } finally {
      clearInterval(timer);
    }
    assert.ok(worstGap < 250, `event loop blocked for ${worstGap} ms`);
  });

  test('a file that is not ONNX is reported clearly', async () => {
    const ext = await activateExtension();
    const notOnnx = vscode.Uri.joinPath(vscode.Uri.file(ext.extensionPath), 'package.json').fsPath;
    await assert.rejects(api.inspect(notOnnx), /is not an ONNX model/);
  });
});
