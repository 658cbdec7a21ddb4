// How a command's argument names a model, a layer or an SAE: a tree node (model, layer, SAE), a Uri or a path.
import * as vscode from 'vscode';
import type { FactNode } from './factTree';

function isNode(x: unknown): x is FactNode {
  return (
    !!x &&
    typeof x === 'object' &&
    typeof (x as { kind?: unknown }).kind === 'string' &&
    ['model', 'layer', 'sae', 'info'].includes((x as { kind: string }).kind)
  );
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
