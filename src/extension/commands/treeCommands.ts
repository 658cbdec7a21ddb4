// Commands of the FaCT view's items, and how any command's argument (a tree node, a Uri, a path) names a model.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { revealPath } from '../reveal';
import { log } from '../log';
import type { Fact } from '../services';
import type { FactNode, SaeNode } from '../tree/factTree';

function isNode(x: unknown): x is FactNode {
  return !!x && typeof x === 'object' && typeof (x as { kind?: unknown }).kind === 'string' && ['model', 'layer', 'sae', 'info'].includes((x as { kind: string }).kind);
}

/** The model a command argument names: a tree node (model, layer, SAE), a Uri or a path. */
export function modelOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'string') return arg;
  if (isNode(arg)) return arg.kind === 'model' ? arg.file : arg.kind === 'layer' || arg.kind === 'sae' ? arg.model : undefined;
  return undefined;
}

export function layerOf(arg: unknown): string | undefined {
  if (isNode(arg)) return arg.kind === 'layer' ? arg.label : arg.kind === 'sae' ? arg.layer : undefined;
  return undefined;
}

export function asNode(arg: unknown): FactNode | undefined {
  return isNode(arg) ? arg : undefined;
}

/** Reveal in Explorer for a model or checkpoint; files outside the workspace (the embedded model) open the OS's. */
export async function revealNode(arg: unknown): Promise<void> {
  const n = asNode(arg);
  const file = n?.kind === 'sae' ? n.info.dir : modelOf(arg);
  if (!file) return;
  await revealPath(file);
}

/** Deletes an SAE checkpoint folder after a modal confirmation (to the trash where the platform has one). */
export async function deleteCheckpoint(fact: Fact, arg: unknown): Promise<boolean> {
  const n = asNode(arg);
  if (n?.kind !== 'sae') {
    void fact.ui.info('FaCT: choose an SAE checkpoint in the FaCT view to delete it.');
    return false;
  }
  const node = n as SaeNode;
  const dir = node.info.dir;
  const DELETE = 'Delete';
  const answer = await fact.ui.warn(`Delete the SAE checkpoint '${node.info.name}' of layer ${node.layer}?`, { modal: true, detail: `The folder ${dir} and everything in it will be deleted (moved to the trash where possible).` }, DELETE);
  if (answer !== DELETE) return false;
  const uri = vscode.Uri.file(dir);
  try {
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: true });
  } catch {
    // No trash (e.g. a remote or a container): delete for good, as the confirmation said.
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: false });
  }
  if (fact.choices.sae(node.model) === dir) await fact.choices.setSae(node.model, undefined);
  log().info(`Deleted the SAE checkpoint ${dir}.`);
  void vscode.window.setStatusBarMessage(`FaCT: deleted ${path.basename(dir)}`, 3000);
  return true;
}
