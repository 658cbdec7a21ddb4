// Shared helpers for the editor suite: the extension under test, its API, and waiting on the workbench.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';

export const EXTENSION_ID = 'fact-vscode.fact-vscode';

export async function activateExtension(): Promise<vscode.Extension<unknown>> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is loaded`);
  await ext.activate();
  return ext;
}

/** The tiny test model: the copy the harness put in the workspace, else the repository's fixture. */
export function tinyModelPath(ext: vscode.Extension<unknown>): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const inWorkspace = ws ? path.join(ws, 'test', 'fixtures', 'tiny', 'tiny.onnx') : '';
  if (inWorkspace && existsSync(inWorkspace)) return inWorkspace;
  return path.join(ext.extensionPath, 'test', 'fixtures', 'tiny', 'tiny.onnx');
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
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
