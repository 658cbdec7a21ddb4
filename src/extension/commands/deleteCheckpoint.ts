// FaCT: Delete SAE Checkpoint… (the tree's SAE items).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { log } from '../log';
import type { Fact } from '../services';
import type { SaeNode } from '../tree/factTree';
import { asNode } from '../tree/nodeArgs';

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
  const answer = await fact.ui.warn(
    `Delete the SAE checkpoint '${node.info.name}' of layer ${node.layer}?`,
    { modal: true, detail: `The folder ${dir} and everything in it will be deleted (moved to the trash where possible).` },
    DELETE,
  );
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
