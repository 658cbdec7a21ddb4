// FaCT: Explain Image — from the palette (the image in the active editor, else a file picker), from the explorer's
// context menu on a PNG/JPEG, from the image preview's title bar, or from the tree ("with this model").
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { readCardSummary } from '../models';
import { ExplainPanel } from '../panels/explainPanel';
import type { Fact } from '../services';
import { requireTrust } from '../trust';
import { isImagePath } from '../ui';
import { pickModel, resolveModel } from '../pick/pickModel';

export interface ExplainArgs {
  image?: vscode.Uri | string;
  model?: vscode.Uri | string;
  classIndex?: number;
  /** Ask for the model even when one is active (the tree's "explain with this model" passes the model instead). */
  askModel?: boolean;
  /** Explain through this SAE (a checkpoint folder), or null for none; default: the model's chosen or only SAE. */
  sae?: vscode.Uri | string | null;
}

/** Command arguments arrive as a Uri (explorer, editor title), a list of Uris (multi-select), or ExplainArgs (API). */
export function explainArgs(arg: unknown, selection?: unknown): ExplainArgs {
  if (arg instanceof vscode.Uri) return { image: arg };
  if (Array.isArray(selection) && selection[0] instanceof vscode.Uri) return { image: selection[0] };
  if (arg && typeof arg === 'object') return arg as ExplainArgs;
  return {};
}

export async function explainImageCommand(fact: Fact, args: ExplainArgs = {}): Promise<ExplainPanel | undefined> {
  const startedAt = performance.now();
  if (!requireTrust(fact.ui, 'explain an image')) return undefined;
  let image = args.image instanceof vscode.Uri ? args.image.fsPath : args.image;
  image ??= fact.ui.activeImage()?.fsPath;
  let prompted = args.askModel === true || (args.model === undefined && !fact.choices.model());
  const model = args.askModel ? await pickModel(fact, { title: 'FaCT: explain with which model?' }) : await resolveModel(fact, args.model);
  if (!model) return undefined;
  if (!image) {
    prompted = true;
    const samples = readCardSummary(model)?.samples;
    const ws = fact.env().workspaceFolder;
    const picked = await fact.ui.openDialog({
      canSelectMany: false,
      filters: { Images: ['png', 'jpg', 'jpeg'] },
      title: 'FaCT: choose an image to explain',
      openLabel: 'Explain',
      ...(ws || samples ? { defaultUri: vscode.Uri.file(ws ?? samples!) } : {}),
    });
    image = picked?.[0]?.fsPath;
    if (!image) return undefined;
  }
  if (!isImagePath(image)) {
    void fact.ui.error(`FaCT explains PNG and JPEG images; '${path.basename(image)}' is neither.`);
    return undefined;
  }
  // Answering prompts takes the person's time, not ours: then the clock starts once everything is known.
  const asked = prompted ? performance.now() : startedAt;
  const sae = args.sae instanceof vscode.Uri ? args.sae.fsPath : args.sae;
  return ExplainPanel.show(fact, {
    model,
    image,
    ...(args.classIndex !== undefined ? { classIndex: args.classIndex } : {}),
    ...(sae !== undefined ? { sae } : {}),
    startedAt: asked,
  });
}
