// Hover previews on the sample workspace's model.py (and a TypeScript file) with the default model and the SAE it
// ships for layer3: over `self.layer3` the SAE's metrics and top concepts with thumbnails, over the sample's path
// the prediction and the top concept contributions with the leading concept's trace. Computed in the background,
// once per key; the next hover shows what the first one started.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { factApi, workspaceDefaultModel, workspaceRoot } from './helpers';

async function hoverText(doc: vscode.TextDocument, pos: vscode.Position): Promise<string> {
  const hs = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, pos);
  return hs
    .flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : (c as vscode.MarkdownString).value)))
    .filter((t) => t.includes('FaCT'))
    .join('\n');
}

function find(doc: vscode.TextDocument, text: string, inner = text): vscode.Position {
  const at = doc.getText().indexOf(text);
  assert.ok(at >= 0, `'${text}' is in ${path.basename(doc.uri.fsPath)}`);
  return doc.positionAt(at + text.indexOf(inner) + 1);
}

suite('FaCT: hover previews (model.py, default model and its SAE)', function () {
  this.timeout(60_000);

  suiteSetup(async () => {
    const api = await factApi();
    await api.choices.setModel(workspaceDefaultModel());
    await api.choices.setSae(workspaceDefaultModel(), undefined);
    api.hovers.clear();
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test("over self.layer3: the shipped SAE's metrics at once, then its top concepts with thumbnails", async () => {
    const api = await factApi();
    const doc = await vscode.workspace.openTextDocument(path.join(workspaceRoot(), 'model.py'));
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, 'python');
    const pos = find(doc, 'x = self.layer3(x)', 'layer3');
    await api.saes.list(workspaceDefaultModel());
    let text = await hoverText(doc, pos);
    assert.match(text, /\*\*FaCT\*\* · SAE `layer3` of B\\?-cos CNN on Fashion\\?-MNIST/);
    assert.match(
      text,
      /k 8 · 1,024 concepts · accuracy with the SAE \*\*\d+\.\d %\*\* \(without \d+\.\d %\) · mean C² \*\*\d\.\d{3}\*\* \(random \d\.\d{3}\)/,
    );
    const started = api.hovers.stats().started;
    await hoverText(doc, pos.translate(0, 2));
    await hoverText(doc, find(doc, 'self.layer3 = nn.Sequential', 'layer3'));
    assert.equal(api.hovers.stats().started, started, 'hovering again (and over the same layer elsewhere) starts nothing new');
    await api.hovers.settled();
    text = await hoverText(doc, pos);
    assert.match(text, /Top concepts by mean contribution\*\* \(of 1,024 alive\)/);
    assert.equal(
      (text.match(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" width="132" height="22" alt="top images of concept \d+">/g) ?? [])
        .length,
      4,
      'four concepts with thumbnails',
    );
    assert.equal((text.match(/\[#\d+\]\(command:fact\.openConcept\?/g) ?? []).length, 4, 'each links to its concept panel');
    assert.ok(text.length < 100_000, `small enough for a hover (${text.length} characters)`);
    assert.equal(await hoverText(doc, find(doc, 'x = self.layer1(x)', 'layer1')), '', 'layer1 has no SAE: no FaCT hover');
    assert.equal(await hoverText(doc, find(doc, 'class FashionBcosCNN')), '', 'other code: no FaCT hover');
  });

  test("over the sample's path: the prediction, the top concept contributions and the leading concept's trace", async () => {
    const api = await factApi();
    const doc = await vscode.workspace.openTextDocument(path.join(workspaceRoot(), 'model.py'));
    const pos = find(doc, 'samples/0002-trouser.png', '0002');
    let text = await hoverText(doc, pos);
    assert.match(text, /`0002-trouser\.png` through SAE `layer3`/);
    await api.hovers.settled();
    text = await hoverText(doc, pos);
    assert.match(text, /Predicted \*\*Trouser\*\* \(\d+\.\d %\)/);
    assert.equal(
      (text.match(/\| \[#\d+\]\(command:fact\.openConcept\?[^)]+\) \| −?\d+\.\d{3} \| −?\d+\.\d %/g) ?? []).length,
      3,
      'the top three concepts',
    );
    assert.match(text, /Σ c_k \+ bias = logit: −?\d+\.\d{3} \+ \(−\d\.\d{3}\) = −?\d+\.\d{3} · \[Explain…\]\(command:fact\.explainImage\?/);
    assert.match(text, /width="48" height="48" alt="trace of concept \d+">/);
  });

  test('TypeScript files get the same hovers', async () => {
    const api = await factApi();
    assert.ok(api.hovers.languages.includes('typescript') && api.hovers.languages.includes('python'));
    const file = path.join(workspaceRoot(), '.fact-test-hover.ts');
    await fs.writeFile(
      file,
      "const sample = 'models/fashion-mnist-bcos/samples/0001-pullover.png';\nexport const f = (net: { layer3: unknown }) => net.layer3;\n",
    );
    // FaCT's provider itself: vscode.executeHoverProvider would also wait for the TypeScript server to start.
    const text = (h: vscode.Hover | undefined) => (h?.contents ?? []).map((c) => (c as vscode.MarkdownString).value).join('\n');
    try {
      const doc = await vscode.workspace.openTextDocument(file);
      assert.equal(doc.languageId, 'typescript');
      api.hovers.provide(doc, find(doc, '0001-pullover'));
      await api.hovers.settled();
      assert.match(text(api.hovers.provide(doc, find(doc, '0001-pullover'))), /Predicted \*\*Pullover\*\*/);
      assert.match(text(api.hovers.provide(doc, find(doc, 'net.layer3', 'layer3'))), /SAE `layer3` of B\\?-cos CNN/);
    } finally {
      await fs.rm(file, { force: true });
    }
  });
});
