// FaCT: Explain Image: the panel, its numbers, another class, the export, and the webview reload handshake.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { factApi, sampleImage, waitFor, webviewTabs, workspaceDefaultModel } from './helpers';

suite('FaCT: Explain Image', () => {
  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('explains a sample image with the default model: prediction, top classes and an exact completeness line', async () => {
    const api = await factApi();
    const model = workspaceDefaultModel();
    const panel = await api.explainImage({ model, image: sampleImage('0002-trouser.png') });
    assert.ok(panel);
    const view = await waitFor('the explanation', () => panel.currentView, 30_000);
    assert.equal(view.className, 'Trouser');
    assert.equal(view.predicted, true);
    assert.equal(view.top.length, 5);
    assert.equal(view.top[0]!.name, 'Trouser');
    assert.ok(Math.abs(view.contributionSum + view.bias - view.logit) < 1e-4, 'Σ x·W + bias = logit');
    assert.ok(view.completenessError < 1e-4);
    // The setting's default is auto; on this machine (no GPU driver) that is the CPU, and the panel says so.
    assert.equal(view.ranOn, 'cpu', 'the panel names the provider that ran');
    for (const img of Object.values(view.images)) assert.match(img, /^data:image\/png;base64,iVBOR/);
    const tab = await waitFor('the explain tab', () => webviewTabs('fact.explain')[0]);
    assert.equal(tab.label, 'Explain: 0002-trouser.png');
    assert.equal(api.choices.model(), model, 'the model became the active one');
  });

  test('the panel reports when the explanation is painted (command → pixels)', async () => {
    const api = await factApi();
    const panel = api.explainPanel();
    assert.ok(panel);
    // Explaining another image in the open panel and waiting for its paint.
    const t0 = Date.now();
    await api.explainImage({ model: workspaceDefaultModel(), image: sampleImage('0001-pullover.png') });
    const view = await waitFor(
      'the pullover explanation',
      () => panel.currentView?.imageName === '0001-pullover.png' && panel.currentView,
      30_000,
    );
    assert.equal(view.top[0]!.name, 'Pullover');
    const paint = await waitFor('the painted record', () => api.lastPaint()?.image === view.image && api.lastPaint(), 15_000);
    console.log(
      `      explain panel painted ${paint.ms} ms after the request (core ${Math.round(paint.computeSeconds * 1000)} ms, wall ${Date.now() - t0} ms)`,
    );
    assert.ok(paint.ms < 5000, `painted within 5 s (took ${paint.ms} ms)`);
  });

  test('choosing another class explains that logit instead', async () => {
    const api = await factApi();
    const panel = api.explainPanel()!;
    const current = panel.currentView!;
    const other = current.top[2]!;
    await panel.explain({ ...panel.currentRequest, classIndex: other.index });
    const view = await waitFor('the other class', () => panel.currentView?.classIndex === other.index && panel.currentView, 30_000);
    assert.equal(view.className, other.name);
    assert.equal(view.predicted, false);
    assert.ok(Math.abs(view.logit - other.logit) < 1e-4, "the explained logit is that class's");
    assert.ok(view.completenessError < 1e-4);
    assert.deepEqual(
      view.top.map((t) => t.index),
      current.top.map((t) => t.index),
      'the top classes stay',
    );
  });

  test("exports a self-contained HTML report, without an SAE and with the model's SAE", async () => {
    const api = await factApi();
    const panel = api.explainPanel()!;
    const model = panel.currentRequest.model;
    const file = path.join(os.tmpdir(), `fact-report-${process.pid}.html`);
    // Without an SAE: the three pictures of the plain explanation.
    await api.choices.setSae(model, '');
    try {
      await waitFor('no concepts', () => panel.concepts.status === 'none' && panel.currentView, 30_000);
      const out = await panel.exportReport(vscode.Uri.file(file));
      assert.equal(out?.fsPath, file);
      const html = await fs.readFile(file, 'utf8');
      assert.match(html, /^<!DOCTYPE html>/);
      assert.equal((html.match(/<img [^>]*src="data:image\/png;base64,/g) ?? []).length, 3, 'three inlined pictures');
      assert.doesNotMatch(html, /<script|src="http|href="http/i, 'no script and nothing remote');
      assert.match(html, /Σ x·W \+ bias = logit/);
      assert.doesNotMatch(html, /Σ c_k/);
      assert.match(html, new RegExp(panel.currentView!.className));
    } finally {
      await api.choices.setSae(model, undefined);
    }
    // With the shipped SAE: the concept section too (bars, traces, top images, Σ c_k + bias = logit).
    const slots = await waitFor(
      'the concepts',
      () => panel.concepts.status === 'ready' && panel.concepts.stripsStatus === 'ready' && panel.concepts,
      60_000,
    );
    await panel.exportReport(vscode.Uri.file(file));
    const html = await fs.readFile(file, 'utf8');
    await fs.rm(file, { force: true });
    assert.match(html, /Σ c_k \+ bias = logit/);
    assert.match(html, /Through the SAE's concepts/);
    assert.equal((html.match(/alt="trace of concept \d+"/g) ?? []).length, slots.view!.traced.length);
    assert.equal((html.match(/alt="top images of concept \d+"/g) ?? []).length, slots.strips.length);
    assert.doesNotMatch(html, /<script|src="http|href="http/i);
  });

  test('a reloaded page gets the current state again (ready handshake)', async () => {
    const api = await factApi();
    const panel = api.explainPanel()!;
    const loads = panel.loads;
    // Hide the panel (its page is discarded: no retainContextWhenHidden) and show it again.
    await vscode.commands.executeCommand('workbench.action.files.newUntitledFile');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    panel.reveal();
    await waitFor('the page to load again', () => panel.loads > loads, 15_000);
    const paint = api.lastPaint();
    assert.ok(paint);
  });

  test('a page that never loads is opened again in a new webview: same column, same tab title, its state resent', async () => {
    // What the page-load watch does when a webview lost its service-worker race and stays blank (pageLoadWatch.ts).
    const api = await factApi();
    const panel = api.explainPanel()!;
    await waitFor('the page to be ready', () => panel.pageReady, 30_000);
    const old = panel.panel;
    const column = old.viewColumn;
    const title = old.title;
    const loads = panel.loads;
    let oldDisposed = false;
    old.onDidDispose(() => (oldDisposed = true));
    const posted = panel.postLog.length;
    panel.openInNewWebview();
    assert.ok(oldDisposed, 'the blank webview is closed');
    assert.notEqual(panel.panel, old);
    assert.equal(panel.isDisposed, false, 'the panel itself lives on');
    assert.equal(panel.panel.viewColumn, column, 'in the same column');
    assert.equal(api.explainPanel(), panel);
    await waitFor('the new page to load', () => panel.loads > loads && panel.pageReady, 30_000);
    assert.ok(
      panel.postLog.slice(posted).some((m) => m.type === 'explanation'),
      'the new page was sent the explanation it shows',
    );
    assert.deepEqual(
      webviewTabs('fact.explain').map((t) => t.label),
      [title],
      "one tab, with the old panel's title",
    );
  });

  test('a file that is not an image is refused with a message', async () => {
    const api = await factApi();
    const errors: string[] = [];
    const restore = api.scriptUi({
      error: async (m) => {
        errors.push(m);
        return undefined;
      },
    });
    try {
      assert.equal(await api.explainImage({ model: workspaceDefaultModel(), image: workspaceDefaultModel() }), undefined);
    } finally {
      restore();
    }
    assert.match(errors[0] ?? '', /PNG and JPEG/);
  });

  test('in an untrusted workspace the command says why it does not run', async () => {
    const api = await factApi();
    const warnings: string[] = [];
    const restore = api.scriptUi({
      isTrusted: () => false,
      warn: async (m) => {
        warnings.push(m);
        return undefined;
      },
    });
    try {
      assert.equal(await vscode.commands.executeCommand('fact.explainImage', vscode.Uri.file(sampleImage())), undefined);
      assert.equal(await vscode.commands.executeCommand('fact.collectFeatures'), undefined);
      assert.equal(await vscode.commands.executeCommand('fact.openModel', vscode.Uri.file(workspaceDefaultModel())), undefined);
    } finally {
      restore();
    }
    assert.equal(warnings.length, 3);
    assert.match(warnings[0]!, /does not run models in an untrusted workspace \(Restricted Mode\), so it cannot explain an image/);
    assert.match(warnings[1]!, /cannot collect features/);
  });
});

suite('FaCT: panels after a window reload', () => {
  teardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('a saved state that does not validate is refused: the panel is closed, nothing runs', async () => {
    const api = await factApi();
    const panel = vscode.window.createWebviewPanel('fact.explain', 'Explain: ?', vscode.ViewColumn.One, {});
    let disposed = false;
    panel.onDidDispose(() => (disposed = true));
    await api.restorePanel(panel, { model: 42, image: null });
    assert.ok(disposed);
  });

  test('the explain panel comes back from its saved state and explains its image again', async () => {
    const api = await factApi();
    const panel = vscode.window.createWebviewPanel('fact.explain', 'Explain: 0009-sneaker.png', vscode.ViewColumn.One, {});
    await api.restorePanel(panel, { model: workspaceDefaultModel(), image: sampleImage('0009-sneaker.png'), classIndex: null });
    const host = api.explainPanel();
    assert.ok(host && host.panel === panel, 'the restored panel is the explain panel');
    const view = await waitFor('the explanation', () => host.currentView, 30_000);
    assert.equal(view.imageName, '0009-sneaker.png');
    await waitFor('the page to load and say ready', () => host.loads > 0, 20_000);
  });

  test('the model panel comes back from its saved state', async () => {
    const api = await factApi();
    const panel = vscode.window.createWebviewPanel('fact.model', 'Model', vscode.ViewColumn.One, {});
    const file = path.join(path.dirname(path.dirname(workspaceDefaultModel())), 'tiny', 'tiny.onnx');
    await api.restorePanel(panel, { file });
    assert.equal(panel.title, 'Model: tiny/tiny.onnx');
    await waitFor('the model panel tab', () => webviewTabs('fact.model').length === 1);
  });
});
