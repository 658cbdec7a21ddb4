// FaCT: Evaluate SAE: per-image records and the SAE's headline numbers, written to the cache (never the checkpoint).
import * as path from 'node:path';
import type { DatasetSpec } from '../../core/data/openDataset';
import { isFactError } from '../../core/errors';
import type { CoreMethods } from '../../core/jobs/methods';
import { log } from '../log';
import { modelDisplayName, readCardSummary } from '../models';
import { resolveModelSae } from '../pick/pickSae';
import type { Fact } from '../services';
import { asNode } from '../tree/nodeArgs';
import { requireTrust } from '../trust';

export const EVALUATE_JOB = 'evaluate';
export type EvaluateResult = CoreMethods['evaluate']['result'];

export interface EvaluateArgs {
  model?: string;
  sae?: string;
  dataset?: DatasetSpec;
  limit?: number;
}

export async function evaluateSaeCommand(fact: Fact, arg?: unknown): Promise<EvaluateResult | undefined> {
  if (!requireTrust(fact.ui, 'evaluate an SAE')) return undefined;
  const t = await resolveModelSae(fact, arg, 'FaCT: evaluate which SAE?');
  if (!t) return undefined;
  const { model, sae } = t;
  const o = (arg && typeof arg === 'object' && !asNode(arg) ? arg : {}) as EvaluateArgs;
  let dataset = o.dataset;
  if (!dataset && !('test' in (readCardSummary(model)?.splits ?? {}))) {
    const dir = await fact.ui.openDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      title: `FaCT: evaluate on which images? ${path.basename(model)}'s card has no test split (one subfolder per class)`,
      openLabel: 'Evaluate',
    });
    if (!dir?.[0]) return undefined;
    dataset = { kind: 'folder', path: dir[0].fsPath };
  }
  const name = fact.saes.displayName(model, sae);
  const start = fact.jobs.start<EvaluateResult>({
    kind: EVALUATE_JOB,
    target: sae,
    title: `Evaluating SAE ${name} (${modelDisplayName(model)})`,
    run: (ctx) => {
      ctx.log(
        `model ${model}, SAE ${sae}, dataset ${dataset ? JSON.stringify(dataset) : "the card's test split"}${o.limit ? `, first ${o.limit} images` : ''}.`,
      );
      return fact
        .core()
        .call(
          'evaluate',
          { model, sae, cacheRoot: fact.env().cacheRoot, ...(dataset ? { dataset } : {}), ...(o.limit ? { limit: o.limit } : {}) },
          { signal: ctx.signal, onProgress: ctx.report },
        );
    },
    describeResult: (r) => `accuracy with the SAE ${(100 * r.metrics.accuracyWithSae).toFixed(2)} % on ${r.metrics.images} images`,
  });
  if (!start.started) return undefined;
  try {
    const r = await start.result;
    fact.saes.invalidate();
    fact.concepts.forget(sae);
    const m = r.metrics;
    void fact.ui
      .info(
        `FaCT: SAE ${name} evaluated on ${m.images.toLocaleString('en-US')} images: accuracy with the SAE ${(100 * m.accuracyWithSae).toFixed(1)} % (without ${(100 * m.accuracy).toFixed(1)} %), ${m.alive} concepts alive, ${m.imageL0.toFixed(1)} present per image.`,
        'Open Concept…',
        'Measure Consistency',
      )
      .then((a) => {
        if (a === 'Open Concept…') void fact.ui.executeCommand('fact.openConcept', { model, sae });
        if (a === 'Measure Consistency') void fact.ui.executeCommand('fact.measureConsistency', { model, sae });
      });
    return r;
  } catch (e) {
    if (isFactError(e) && e.code === 'cancelled') void fact.ui.info(`FaCT: evaluation of SAE ${name} was cancelled.`);
    else void fact.ui.error(`FaCT: evaluating SAE ${name} failed: ${(e as Error).message}`, 'Show Log').then((a) => a && log().show(true));
    return undefined;
  }
}
