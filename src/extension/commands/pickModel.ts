// Choosing a model: an explicit URI wins; otherwise a quick pick of the embedded default, the workspace's .onnx
// files (the last choice first) and "Browse…". The choice is remembered per workspace.
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';

const LAST_MODEL_KEY = 'fact.lastModel';
const BROWSE = 'Browse…';

export function embeddedDefaultModel(extensionUri: vscode.Uri): string | undefined {
  const file = path.join(extensionUri.fsPath, 'models', 'fashion-mnist-bcos', 'model.onnx');
  return existsSync(file) ? file : undefined;
}

export async function pickModel(context: vscode.ExtensionContext, uri?: vscode.Uri): Promise<string | undefined> {
  if (uri instanceof vscode.Uri) return remember(context, uri.fsPath);
  const last = context.workspaceState.get<string>(LAST_MODEL_KEY);
  const found = await vscode.workspace.findFiles('**/*.onnx', '{**/node_modules/**,**/.harness/**,**/.git/**}', 500);
  const items: (vscode.QuickPickItem & { file?: string })[] = [];
  const seen = new Set<string>();
  const add = (file: string, label: string, description?: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    items.push({ label, file, ...(description ? { description } : {}) });
  };
  if (last && existsSync(last)) add(last, vscode.workspace.asRelativePath(last), 'last used');
  for (const u of found.sort((a, b) => a.fsPath.localeCompare(b.fsPath))) add(u.fsPath, vscode.workspace.asRelativePath(u));
  const embedded = embeddedDefaultModel(context.extensionUri);
  if (embedded) add(embedded, 'Embedded default: B-cos CNN on Fashion-MNIST', 'ships with FaCT');
  items.push({ label: BROWSE, description: 'choose an .onnx file' });
  const picked = await vscode.window.showQuickPick(items, { title: 'FaCT: choose a model', placeHolder: 'ONNX model (B-cos)', matchOnDescription: true });
  if (!picked) return undefined;
  if (picked.file) return remember(context, picked.file);
  const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, title: 'FaCT: choose a model' });
  return chosen?.[0] ? remember(context, chosen[0].fsPath) : undefined;
}

async function remember(context: vscode.ExtensionContext, file: string): Promise<string> {
  await context.workspaceState.update(LAST_MODEL_KEY, file);
  return file;
}
