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
    assert.ok(contributed.includes('fact.openModel'));
    for (const c of contributed) assert.ok(commands.includes(c), `command ${c} is registered`);
  });
});
