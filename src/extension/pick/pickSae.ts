// Which SAE a command works on: the one given (a tree node or an argument), else the active model's chosen SAE, else
// its only checkpoint, else a pick; a model without any is offered training.
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { modelDisplayName } from '../models';
import type { Fact } from '../services';
import { checkpointFacts, type SaeCheckpointInfo } from '../tree/saeCheckpoints';
import { asNode } from '../tree/nodeArgs';
import type { PickItem } from '../ui';
import { pickModel, resolveModel } from './pickModel';

const fsPath = (x: vscode.Uri | string | undefined) => (x instanceof vscode.Uri ? x.fsPath : x);
const rel = (p: string) => vscode.workspace.asRelativePath(p);

export interface SaeTarget {
  model: string;
  sae: string;
}

/** {model, sae} from a command argument: an SAE tree node, or an object naming them. */
export function saeArg(arg: unknown): { model?: string; sae?: string } {
  const n = asNode(arg);
  if (n?.kind === 'sae') return { model: n.model, sae: n.info.dir };
  if (n?.kind === 'layer' || n?.kind === 'model') return { model: n.kind === 'model' ? n.file : n.model };
  if (arg instanceof vscode.Uri) return { model: arg.fsPath };
  if (arg && typeof arg === 'object') {
    const o = arg as { model?: vscode.Uri | string; sae?: vscode.Uri | string };
    const model = fsPath(o.model);
    const sae = fsPath(o.sae);
    return { ...(model ? { model } : {}), ...(sae ? { sae } : {}) };
  }
  return {};
}

export function saeItems(fact: Fact, model: string, checkpoints: SaeCheckpointInfo[], current: string | undefined): PickItem<string>[] {
  return checkpoints.map((c) => ({
    label: fact.saes.displayName(model, c.dir),
    value: c.dir,
    description: [
      c.dir === current ? 'current' : '',
      c.k !== undefined ? `k ${c.k}` : '',
      c.dictSize !== undefined ? `${c.dictSize.toLocaleString('en-US')} concepts` : '',
      ...checkpointFacts(c).map((f) => f.short),
    ]
      .filter(Boolean)
      .join(' · '),
    detail: c.problem ?? rel(c.dir),
  }));
}

/** Asks which of the model's checkpoints to use (and remembers it). */
export async function pickSae(fact: Fact, model: string, title: string): Promise<string | undefined> {
  const list = await fact.saes.list(model);
  if (list.length === 0) return undefined;
  const picked = await fact.ui.quickPick(saeItems(fact, model, list, fact.choices.sae(model)), {
    title,
    placeHolder: 'SAE checkpoint',
    matchOnDescription: true,
  });
  if (picked?.value) await fact.choices.setSae(model, picked.value);
  return picked?.value;
}

/** Tells that the model has no SAE, offering to train one. */
function noSae(fact: Fact, model: string): void {
  void fact.ui
    .info(`FaCT: ${modelDisplayName(model)} has no SAE checkpoint yet. Collect a layer's features, then train one.`, 'Train SAE…')
    .then((a) => {
      if (a) void fact.ui.executeCommand('fact.trainSae', { model });
    });
}

/** The model and SAE a command works on: given, else the active model's SAE (asking only when several exist). */
export async function resolveModelSae(fact: Fact, arg: unknown, title: string): Promise<SaeTarget | undefined> {
  const given = saeArg(arg);
  const model = given.model
    ? await resolveModel(fact, given.model)
    : fact.choices.model() && existsSync(fact.choices.model()!)
      ? fact.choices.model()!
      : await pickModel(fact, { title });
  if (!model) return undefined;
  if (given.sae) return { model, sae: given.sae };
  const eff = await fact.saes.effective(model);
  if (eff.dir) return { model, sae: eff.dir };
  if (eff.checkpoints.length === 0) {
    noSae(fact, model);
    return undefined;
  }
  const sae = await pickSae(fact, model, title);
  return sae ? { model, sae } : undefined;
}
