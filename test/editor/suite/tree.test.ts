// The FaCT view: models → layers (from inspect) → SAE checkpoints, refreshed by file watchers; item commands.
import * as assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FactNode, LayerNode, ModelNode, SaeNode } from '../../../src/extension/tree/factTree';
import { factApi, waitFor, workspaceDefaultModel, workspaceRoot } from './helpers';

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
  // layer4: the default model ships its SAE for layer3, which these tests leave alone.
  const saeDir = () => path.join(path.dirname(workspaceDefaultModel()), 'saes', 'layer4', 'k8-64');

  suiteTeardown(async () => {
    await fs.rm(path.join(path.dirname(workspaceDefaultModel()), 'saes', 'layer4'), { recursive: true, force: true });
  });

  test("lists the workspace's models and the embedded default", async () => {
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

  test('a model expands to its candidate layers, card layers marked, the shipped SAE under layer3', async () => {
    const api = await factApi();
    const layers = (await api.tree.getChildren(await modelNode(workspaceDefaultModel()))) as LayerNode[];
    assert.deepEqual(
      layers.map((l) => l.label),
      ['layer1', 'layer2.conv1', 'layer2', 'layer3', 'layer4', 'classifier'],
    );
    const l3 = api.tree.getTreeItem(layers[3]!);
    assert.match(String(l3.description), /\[128, 7, 7\] · card/);
    assert.match(String(l3.description), /1 SAE/);
    assert.equal(l3.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    const l4 = api.tree.getTreeItem(layers[4]!);
    assert.match(String(l4.description), /no SAE/);
    assert.equal(l4.collapsibleState, vscode.TreeItemCollapsibleState.None);
    assert.equal(l4.contextValue, 'fact.layer');
    // The shipped checkpoint: k, size, accuracy with the SAE, mean C² in the description; more in the tooltip.
    const [shipped] = (await api.tree.getChildren(layers[3]!)) as SaeNode[];
    assert.ok(shipped);
    const item = api.tree.getTreeItem(shipped);
    assert.equal(item.label, 'layer3');
    assert.match(String(item.description), /^active · k 8 · 1,024 latents · acc \d+\.\d % · C² \d\.\d{3}/);
    assert.match(item.contextValue ?? '', /^fact\.sae\.consistency/);
    const tip = (item.tooltip as vscode.MarkdownString).value;
    assert.match(tip, /Accuracy with the SAE: \d+\.\d % \(without: \d+\.\d %\) on 10,000 images/);
    assert.match(tip, /Mean C²: \d\.\d{3} \(random traces: \d\.\d{3}/);
  });

  test('an SAE checkpoint folder appears under its layer, with k, size and metrics, when its files are written', async () => {
    const api = await factApi();
    await api.choices.setSae(workspaceDefaultModel(), ''); // explicitly none: no checkpoint is "active" here
    const dir = saeDir();
    await fs.mkdir(dir, { recursive: true });
    const refreshed = api.tree.nextRefresh();
    await fs.writeFile(path.join(dir, 'sae.safetensors'), Buffer.alloc(8));
    await fs.writeFile(
      path.join(dir, 'cfg.json'),
      JSON.stringify({
        format: 1,
        architecture: 'bias-free-topk',
        k: 8,
        dictSize: 64,
        dModel: 128,
        layer: 'layer4',
        modelSha256: 'x',
        inputScale: 1,
        metrics: { r2: 0.912, deadFraction: 0.02 },
        createdAt: '2025-01-01T00:00:00Z',
      }),
    );
    await Promise.race([
      refreshed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the file watcher did not refresh the view within 10 s')), 10_000)),
    ]);
    const layer = await layerNode(workspaceDefaultModel(), 'layer4');
    assert.equal(api.tree.getTreeItem(layer).collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    const [sae] = (await api.tree.getChildren(layer)) as SaeNode[];
    assert.ok(sae);
    const item = api.tree.getTreeItem(sae);
    assert.equal(item.label, 'k8-64');
    assert.equal(item.description, 'k 8 · 64 latents · r2 0.912 · deadFraction 0.02');
    assert.equal(item.contextValue, 'fact.sae');
    assert.match((item.tooltip as vscode.MarkdownString).value, /Not evaluated yet: right-click → Evaluate SAE/);
  });

  test('deleting a checkpoint asks first, then removes its folder', async () => {
    const api = await factApi();
    const layer = await layerNode(workspaceDefaultModel(), 'layer4');
    const [sae] = (await api.tree.getChildren(layer)) as SaeNode[];
    assert.ok(sae);
    const asked: string[] = [];
    let answer: string | undefined;
    const restore = api.scriptUi({
      warn: async (m, o) => {
        asked.push(`${m} ${o.modal ? '(modal)' : ''}`);
        return answer;
      },
    });
    try {
      assert.equal(await vscode.commands.executeCommand('fact.deleteCheckpoint', sae), false, 'dismissed: nothing deleted');
      assert.ok(existsSync(saeDir()));
      answer = 'Delete';
      assert.equal(await vscode.commands.executeCommand('fact.deleteCheckpoint', sae), true);
    } finally {
      restore();
    }
    assert.match(asked[0]!, /Delete the SAE checkpoint 'k8-64' of layer layer4\? \(modal\)/);
    await waitFor('the folder to be gone', () => !existsSync(saeDir()));
    await api.choices.setSae(workspaceDefaultModel(), undefined);
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

  test('the status bar shows the active model and the execution provider; its SAE item the SAE explanations use', async () => {
    const api = await factApi();
    const model = workspaceDefaultModel();
    await api.choices.setModel(model);
    const dir = path.join(path.dirname(model), 'saes', 'layer4', 'k4-32');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'sae.safetensors'), Buffer.alloc(8));
    await fs.writeFile(
      path.join(dir, 'cfg.json'),
      JSON.stringify({
        format: 1,
        k: 4,
        dictSize: 32,
        dModel: 128,
        layer: 'layer4',
        modelSha256: 'x',
        inputScale: 1,
        evaluation: { accuracy: 0.9, accuracyWithSae: 0.85, images: 100 },
        consistency: { mean: 0.61, randomMean: 0.44 },
      }),
    );
    api.saes.invalidate();
    await api.saes.list(model);
    await api.choices.setSae(model, dir);
    try {
      const s = await waitFor('the SAE item', () => api.statusText().sae?.text.includes('k4-32') && api.statusText());
      assert.equal(s.text, '$(circuit-board) FaCT: fashion-mnist-bcos/model.onnx · cpu');
      assert.match(s.tooltip, /Execution provider: cpu/);
      assert.equal(s.sae?.text, '$(symbol-class) SAE layer4/k4-32');
      assert.match(s.sae?.tooltip ?? '', /k 4 · 32 concepts · acc 85\.0 % · C² 0\.610/);
      await api.choices.setSae(model, '');
      assert.equal(api.statusText().sae?.text, '$(symbol-class) no SAE', 'explicitly none');
    } finally {
      await api.choices.setSae(model, undefined);
      await fs.rm(dir, { recursive: true, force: true });
      api.saes.invalidate();
    }
    const shipped = (await api.saes.list(model)).length;
    await waitFor(
      'the SAE item to follow the checkpoints',
      () => (shipped ? api.statusText().sae !== undefined : api.statusText().sae === undefined) && true,
    );
  });

  test('foundation (feature-extractor) models are not listed as models', async () => {
    const api = await factApi();
    const roots = (await api.tree.getChildren()) as ModelNode[];
    const foundation = path.join(path.dirname(workspaceDefaultModel()), 'foundation', 'feature-model.onnx');
    assert.ok(existsSync(foundation), 'the default model ships its C² feature model');
    assert.ok(!roots.some((r) => r.file === foundation), 'it is hidden from the models view');
    // …also when it is not in a foundation/ folder but has the feature-extractor spec beside it.
    const elsewhere = path.join(workspaceRoot(), '.fact-test-fm');
    await fs.mkdir(elsewhere, { recursive: true });
    await fs.copyFile(foundation, path.join(elsewhere, 'dino.onnx'));
    await fs.writeFile(path.join(elsewhere, 'dino.json'), JSON.stringify({ size: 28, mean: [0.5], std: [0.5] }));
    await fs.copyFile(foundation, path.join(elsewhere, 'plain.onnx'));
    try {
      const files = ((await api.tree.getChildren()) as ModelNode[]).map((r) => r.file);
      assert.ok(!files.includes(path.join(elsewhere, 'dino.onnx')));
      assert.ok(files.includes(path.join(elsewhere, 'plain.onnx')), 'an .onnx without the spec is listed');
    } finally {
      await fs.rm(elsewhere, { recursive: true, force: true });
    }
  });
});
