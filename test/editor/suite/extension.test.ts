import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activateExtension } from './helpers';

suite('FaCT extension in a real VS Code', () => {
  test('runs in a real extension host', () => {
    assert.match(vscode.version, /^1\.\d+\.\d+/);
    assert.equal(typeof vscode.window.createWebviewPanel, 'function');
  });

  test('activates and registers its commands', async () => {
    const ext = await activateExtension();
    assert.ok(ext.isActive);
    const commands = await vscode.commands.getCommands(true);
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    for (const c of ['fact.openModel', 'fact.explainImage', 'fact.collectFeatures', 'fact.selectModel', 'fact.deleteCheckpoint'])
      assert.ok(contributed.includes(c), c);
    for (const c of contributed) assert.ok(commands.includes(c), `command ${c} is registered`);
  });

  test('contributes the FaCT view container, its view and the explorer menu on images', async () => {
    const ext = await activateExtension();
    const c = ext.packageJSON.contributes;
    assert.equal(c.viewsContainers.activitybar[0].id, 'fact');
    assert.equal(c.views.fact[0].id, 'fact.models');
    const explorer = c.menus['explorer/context'] as { command: string; when: string }[];
    const onImages = explorer.find((m) => m.command === 'fact.explainImage');
    assert.ok(onImages && /resourceExtname/.test(onImages.when), 'Explain Image is offered on PNG/JPEG files in the explorer');
    const re = new RegExp(/=~ \/(.*)\/i/.exec(onImages.when)![1]!, 'i');
    assert.ok(re.test('.png') && re.test('.JPG') && re.test('.jpeg') && !re.test('.onnx'));
  });
});
