import type * as vscode from 'vscode';
import { ModelPanel } from '../panels/modelPanel';
import type { Fact } from '../services';
import { requireTrust } from '../trust';
import { pickModel } from '../pick/pickModel';

/** FaCT: Open Model — shows a model's inputs, outputs and candidate SAE layers beside the editor. */
export async function openModelCommand(fact: Fact, model?: vscode.Uri | string): Promise<ModelPanel | undefined> {
  if (!requireTrust(fact.ui, 'open a model')) return undefined;
  const file = typeof model === 'string' ? model : (model?.fsPath ?? (await pickModel(fact, { title: 'FaCT: open which model?' })));
  if (!file) return undefined;
  if (model) await fact.choices.setModel(file);
  return ModelPanel.show(fact, file);
}
