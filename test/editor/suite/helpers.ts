// Shared helpers for the editor suite: the extension under test, its API, the test workspace and waiting.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { FactApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'fact-vscode.fact-vscode';

export async function activateExtension(): Promise<vscode.Extension<FactApi>> {
  const ext = vscode.extensions.getExtension<FactApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is loaded`);
  await ext.activate();
  return ext;
}

export async function factApi(): Promise<FactApi> {
  return (await activateExtension()).exports;
}

export function workspaceRoot(): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(ws, 'a workspace folder is open');
  return ws;
}

/** The tiny test model: the copy the harness put in the workspace, else the repository's fixture. */
export function tinyModelPath(ext: vscode.Extension<unknown>): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  for (const rel of [
    ['models', 'tiny', 'tiny.onnx'],
    ['test', 'fixtures', 'tiny', 'tiny.onnx'],
  ]) {
    const inWorkspace = ws ? path.join(ws, ...rel) : '';
    if (inWorkspace && existsSync(inWorkspace)) return inWorkspace;
  }
  return path.join(ext.extensionPath, 'test', 'fixtures', 'tiny', 'tiny.onnx');
}

/** The default model's copy in the workspace (models/fashion-mnist-bcos/model.onnx). */
export function workspaceDefaultModel(): string {
  const file = path.join(workspaceRoot(), 'models', 'fashion-mnist-bcos', 'model.onnx');
  assert.ok(existsSync(file), `${file} exists (the harness copies the default model into the workspace)`);
  return file;
}

export function sampleImage(name = '0002-trouser.png'): string {
  return path.join(path.dirname(workspaceDefaultModel()), 'samples', name);
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function webviewTabs(viewType: string): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(viewType));
}
