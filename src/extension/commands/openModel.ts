import * as vscode from 'vscode';
import { ModelPanel } from '../panels/modelPanel';
import { requireTrust } from '../trust';
import { pickModel } from './pickModel';

/** FaCT: Open Model — shows a model's inputs, outputs and candidate SAE layers beside the editor. */
export async function openModelCommand(context: vscode.ExtensionContext, uri?: vscode.Uri): Promise<ModelPanel | undefined> {
  if (!requireTrust('open a model')) return undefined;
  const file = await pickModel(context, uri);
  if (!file) return undefined;
  return ModelPanel.show(context.extensionUri, file);
}
