// Choosing a model. An explicit file wins; commands that need "the" model use the remembered one; otherwise (and
// for "FaCT: Select Model") a quick pick lists the remembered model, the workspace's .onnx files, the embedded
// default and "Browse…". The choice is remembered per workspace (state/choices.ts).
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { embeddedDefaultModel, isFeatureExtractor, modelDisplayName } from '../models';
import type { Fact } from '../services';
import type { PickItem } from '../ui';

export const MODEL_EXCLUDE = '{**/node_modules/**,**/.harness/**,**/.git/**,**/.fact/**}';
const BROWSE = 'Browse…';

/** The workspace's .onnx files, sorted by path, without foundation (feature-extractor) models. */
export async function workspaceModels(fact: Fact): Promise<string[]> {
  const found = await fact.ui.findFiles('**/*.onnx', MODEL_EXCLUDE, 500);
  const root = fact.env().workspaceFolder;
  return found
    .filter((u) => u.scheme === 'file' && !isFeatureExtractor(u.fsPath, root))
    .map((u) => u.fsPath)
    .sort((a, b) => a.localeCompare(b));
}

/** Asks for a model (always) and remembers the answer. */
export async function pickModel(fact: Fact, opts: { title?: string } = {}): Promise<string | undefined> {
  const items: PickItem<string>[] = [];
  const seen = new Set<string>();
  const add = (file: string, label: string, description?: string, detail?: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    items.push({ label, value: file, ...(description ? { description } : {}), ...(detail ? { detail } : {}) });
  };
  const last = fact.choices.model();
  const embedded = embeddedDefaultModel(fact.env().extensionPath);
  const labelFor = (file: string) =>
    file === embedded ? `Embedded default: ${modelDisplayName(file)}` : vscode.workspace.asRelativePath(file);
  if (last && existsSync(last)) add(last, labelFor(last), 'active model');
  for (const file of await workspaceModels(fact)) add(file, labelFor(file));
  if (embedded) add(embedded, labelFor(embedded), 'ships with FaCT');
  items.push({ label: BROWSE, description: 'choose an .onnx file' });
  const picked = await fact.ui.quickPick(items, {
    title: opts.title ?? 'FaCT: choose a model',
    placeHolder: 'ONNX model (B-cos)',
    matchOnDescription: true,
  });
  if (!picked) return undefined;
  let file = picked.value;
  if (!file) {
    const chosen = await fact.ui.openDialog({
      canSelectMany: false,
      filters: { 'ONNX models': ['onnx'] },
      title: opts.title ?? 'FaCT: choose a model',
    });
    file = chosen?.[0]?.fsPath;
  }
  if (file) await fact.choices.setModel(file);
  return file;
}

/** The model a command works on: the explicit one (remembered as active), else the active one, else the picker. */
export async function resolveModel(fact: Fact, explicit?: vscode.Uri | string): Promise<string | undefined> {
  const given = explicit instanceof vscode.Uri ? explicit.fsPath : explicit;
  if (given) {
    await fact.choices.setModel(given);
    return given;
  }
  const active = fact.choices.model();
  if (active && existsSync(active)) return active;
  return pickModel(fact);
}
