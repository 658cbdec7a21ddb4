// The FaCT view: models → layers (from inspect) → SAE checkpoints, refreshed by file watchers; item commands.
import * as assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FactNode, LayerNode, ModelNode, SaeNode } from '../../../src/extension/tree/factTree';
import { factApi, waitFor, workspaceDefaultModel } from './helpers';

async function modelNode(file: string): Promise<ModelNode> {
  const api = await factApi();
  const roots = (await api.tree.getChildren()) as ModelNode[];
  const node = roots.find((n) => n.file === file);
  assert.ok(node, `the view lists ${file}; it lists ${roots.map((r) => r.file).join(', ')}`);
  return node;
}

async function layerNode(model: string, label: string): Promise<LayerNode> {
  const api = await factApi();
  const layers = (await api.tree.getChildren(await modelNode(model))) as FactNode[];
  const node = layers.find((n): n is LayerNode => n.kind === 'layer' && n.label === label);
  assert.ok(node, `layer ${label} is listed`);
  return node;
}

suite('FaCT: the models view', () => {
  const saeDir = () => path.join(path.dirname(workspaceDefaultModel()), 'saes', 'layer3', 'k8-64');

  suiteTeardown(async () => {
    await fs.rm(path.join(path.dirname(workspaceDefaultModel()), 'saes'), { recursive: true, force: true });
  });

  test('lists the workspace\'s models and the embedded default', async () => {
    const api = await factApi();
    const roots = (await api.tree.getChildren()) as ModelNode[];
    assert.ok(roots.some((r) => r.file === workspaceDefaultModel() && !r.embedded));
    assert.ok(roots.some((r) => r.file.endsWith(path.join('tiny', 'tiny.onnx'))));
    const embedded = roots.find((r) => r.embedded);
    assert.ok(embedded, 'the embedded default model is listed');
    const item = api.tree.getTreeItem(embedded);
    assert.equal(item.label, 'B-cos CNN on Fashion-MNIST');
    assert.match(String(item.description), /embedded default/);
    assert.equal(item.contextValue, 'fact.model.embedded');
  });

  test('a model expands to its candidate layers, card layers marked, none with an SAE yet', async () => {
    const api = await factApi();
    const layers = (await api.tree.getChildren(await modelNode(workspaceDefaultModel()))) as LayerNode[];
    assert.deepEqual(layers.map((l) => l.label), ['layer1', 'layer2.conv1', 'layer2', 'layer3', 'layer4', 'classifier']);
    const l3 = api.tree.getTreeItem(layers[3]!);
    assert.match(String(l3.description), /\[128, 7, 7\] · card/);
    assert.match(String(l3.description), /no SAE/);
    assert.equal(l3.collapsibleState, vscode.TreeItemCollapsibleState.None);
    assert.equal(l3.contextValue, 'fact.layer');
  });

  test('an SAE checkpoint folder appears under its layer, with k, size and metrics, when its files are written', async () => {
    const api = await factApi();
    const dir = saeDir();
    await fs.mkdir(dir, { recursive: true });
    const refreshed = api.tree.nextRefresh();
    await fs.writeFile(path.join(dir, 'sae.safetensors'), Buffer.alloc(8));
    await fs.writeFile(path.join(dir, 'cfg.json'), JSON.stringify({ format: 1, architecture: 'bias-free-topk', k: 8, dictSize: 64, dModel: 128, layer: 'layer3', modelSha256: 'x', inputScale: 1, metrics: { r2: 0.912, deadFraction: 0.02 }, createdAt: '2025-01-01T00:00:00Z' }));
    await Promise.race([refreshed, new Promise((_, reject) => setTimeout(() => reject(new Error('the file watcher did not refresh the view within 10 s')), 10_000))]);
    const layer = await layerNode(workspaceDefaultModel(), 'layer3');
    assert.equal(api.tree.getTreeItem(layer).collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    const [sae] = (await api.tree.getChildren(layer)) as SaeNode[];
    assert.ok(sae);
    const item = api.tree.getTreeItem(sae);
    assert.equal(item.label, 'k8-64');
    assert.equal(item.description, 'k 8 · 64 latents · r2 0.912 · deadFraction 0.02');
    assert.equal(item.contextValue, 'fact.sae');
  });

  test('deleting a checkpoint asks first, then removes its folder', async () => {
    const api = await factApi();
    const layer = await layerNode(workspaceDefaultModel(), 'layer3');
    const [sae] = (await api.tree.getChildren(layer)) as SaeNode[];
    assert.ok(sae);
    const asked: string[] = [];
    let answer: string | undefined;
    const restore = api.scriptUi({ warn: async (m, o) => { asked.push(`${m} ${o.modal ? '(modal)' : ''}`); return answer; } });
    try {
      assert.equal(await vscode.commands.executeCommand('fact.deleteCheckpoint', sae), false, 'dismissed: nothing deleted');
      assert.ok(existsSync(saeDir()));
      answer = 'Delete';
      assert.equal(await vscode.commands.executeCommand('fact.deleteCheckpoint', sae), true);
    } finally {
      restore();
    }
    assert.match(asked[0]!, /Delete the SAE checkpoint 'k8-64' of layer layer3\? \(modal\)/);
    await waitFor('the folder to be gone', () => !existsSync(saeDir()));
  });

  test('in an untrusted workspace a model lists no layers and says why', async () => {
    const api = await factApi();
    const restore = api.scriptUi({ isTrusted: () => false });
    try {
      const children = await api.tree.getChildren(await modelNode(workspaceDefaultModel()));
      assert.equal(children.length, 1);
      assert.equal(children[0]!.kind, 'info');
      assert.match(api.tree.getTreeItem(children[0]!).label as string, /Trust this workspace/);
    } finally {
      restore();
    }
  });

  test('the status bar shows the active model, the SAE once chosen, and the execution provider', async () => {
    const api = await factApi();
    const model = workspaceDefaultModel();
    await api.choices.setModel(model);
    await api.choices.setSae(model, '/somewhere/saes/layer3/k8-64');
    try {
      const s = api.statusText();
      assert.equal(s.text, '$(circuit-board) FaCT: fashion-mnist-bcos/model.onnx · SAE k8-64 · cpu');
      assert.match(s.tooltip, /Execution provider: cpu/);
    } finally {
      await api.choices.setSae(model, undefined);
    }
    assert.equal(api.statusText().text, '$(circuit-board) FaCT: fashion-mnist-bcos/model.onnx · cpu');
  });
});
