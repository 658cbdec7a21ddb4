// FaCT: Measure Consistency: the C² score of every concept against a foundation model, shown in the consistency panel.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isFactError } from '../../core/errors';
import type { CoreMethods } from '../../core/jobs/methods';
import { log } from '../log';
import { foundationCandidates, modelDisplayName, readCardSummary } from '../models';
import { ConsistencyPanel } from '../panels/consistencyPanel';
import { resolveModelSae } from '../pick/pickSae';
import type { Fact } from '../services';
import { asNode } from '../tree/nodeArgs';
import { requireTrust } from '../trust';
import { evaluateSaeCommand } from './evaluateSae';

export const CONSISTENCY_JOB = 'consistency';
export type ConsistencyResult = CoreMethods['consistency']['result'];

export interface ConsistencyArgs {
  model?: string;
  sae?: string;
  foundation?: string;
  meanImages?: number;
  panel?: boolean;
}

/** The foundation model for C²: given, the card's, the only one beside the model, else asked for. */
async function chooseFoundation(fact: Fact, model: string, given?: string): Promise<string | null | undefined> {
  if (given) return given;
  const card = readCardSummary(model);
  if (card?.foundation) return null; // the core reads the card's
  const beside = foundationCandidates(model);
  if (beside.length === 1) return beside[0]!;
  const picked = await fact.ui.openDialog({
    canSelectMany: false,
    filters: { 'ONNX models': ['onnx'] },
    openLabel: 'Measure C²',
    title: `FaCT: the foundation model (an ONNX feature extractor) to measure C² for ${modelDisplayName(model)} with`,
    ...(beside.length ? { defaultUri: vscode.Uri.file(path.dirname(beside[0]!)) } : {}),
  });
  return picked?.[0]?.fsPath;
}

export async function measureConsistencyCommand(fact: Fact, arg?: unknown): Promise<ConsistencyResult | undefined> {
  if (!requireTrust(fact.ui, 'measure concept consistency')) return undefined;
  const t = await resolveModelSae(fact, arg, 'FaCT: measure the C² consistency of which SAE?');
  if (!t) return undefined;
  const { model, sae } = t;
  const o = (arg && typeof arg === 'object' && !asNode(arg) ? arg : {}) as ConsistencyArgs;
  const foundation = await chooseFoundation(fact, model, o.foundation);
  if (foundation === undefined) return undefined;
  const name = fact.saes.displayName(model, sae);
  const start = fact.jobs.start<ConsistencyResult>({
    kind: CONSISTENCY_JOB,
    target: sae,
    title: `Measuring the C² consistency of SAE ${name} (${modelDisplayName(model)})`,
    run: (ctx) => {
      const params = {
        model,
        sae,
        cacheRoot: fact.env().cacheRoot,
        ...(foundation ? { foundation } : {}),
        ...(o.meanImages ? { meanImages: o.meanImages } : {}),
      };
      return fact.core().call('consistency', params, { signal: ctx.signal, onProgress: ctx.report });
    },
    describeResult: (r) => `mean C² ${r.mean.toFixed(4)} over ${r.conceptsInMean} concepts (random ${r.randomMean.toFixed(4)})`,
  });
  if (!start.started) return undefined;
  try {
    const r = await start.result;
    fact.saes.invalidate();
    fact.concepts.forget(sae);
    if (o.panel !== false) await ConsistencyPanel.show(fact, { model, sae }, r);
    void vscode.window.setStatusBarMessage(`FaCT: mean C² ${r.mean.toFixed(3)} (random ${r.randomMean.toFixed(3)})`, 5000);
    return r;
  } catch (e) {
    if (isFactError(e) && e.code === 'cancelled') {
      void fact.ui.info(`FaCT: the C² measurement of SAE ${name} was cancelled.`);
    } else if (isFactError(e) && e.code === 'not-evaluated') {
      void fact.ui.error(`FaCT: ${(e as Error).message}`, 'Evaluate, Then Measure').then(async (a) => {
        if (!a) return;
        const ev = await evaluateSaeCommand(fact, { model, sae });
        if (ev) await measureConsistencyCommand(fact, { ...o, model, sae, ...(foundation ? { foundation } : {}) });
      });
    } else {
      void fact.ui
        .error(`FaCT: measuring C² of SAE ${name} failed: ${(e as Error).message}`, 'Show Log')
        .then((a) => a && log().show(true));
    }
    return undefined;
  }
}
