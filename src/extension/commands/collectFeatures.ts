// FaCT: Collect Features — samples a layer's feature vectors over a dataset into a resumable store, as a job.
// Asks only for what it cannot infer: the model (the active one, else the picker; the embedded default works with
// no set-up), the layer (a quick pick, card layers first), the dataset (the remembered one, else the card's "train"
// split, else a folder), the output folder (always `<model work dir>/features/<layer>/`, see models.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { revealPath } from '../reveal';
import type { DatasetSpec } from '../../core/data/openDataset';
import { isFactError } from '../../core/errors';
import type { FeatureManifest } from '../../core/features/manifest';
import { formatShape } from '../../core/onnx/inspect';
import { log } from '../log';
import { defaultFeaturesDir, modelDisplayName, readCardSummary } from '../models';
import type { Fact } from '../services';
import { describeDataset } from '../state/choices';
import { requireTrust } from '../trust';
import type { PickItem } from '../ui';
import { pickModel, resolveModel } from '../pick/pickModel';
import { layerOf, modelOf } from '../tree/nodeArgs';
import { askWhereToRun, datasetArgs, submitWithCli, type RunWhere } from '../slurm/submitToSlurm';

export interface CollectArgs {
  model?: vscode.Uri | string;
  layer?: string;
  dataset?: DatasetSpec;
  outDir?: string;
  /** Use only the first N images (tests, quick looks). */
  limit?: number;
  /** Where to run; asked when Slurm is configured and this is not given. */
  where?: RunWhere;
}

export const COLLECT_JOB = 'collect';

export function collectTarget(model: string, layer: string): string {
  return `${model}#${layer}`;
}

/** Layers of `model` for a quick pick: the last used first, then those the card recommends, then the rest. */
export async function layerItems(fact: Fact, model: string): Promise<PickItem<string>[]> {
  const r = await fact.core().call('inspect', { model });
  const last = fact.choices.layer(model);
  const rank = (label: string) => (label === last ? 0 : r.recommendedLayers.includes(label) ? 1 : 2);
  return r.layers
    .map((l, i) => ({ l, i }))
    .sort((a, b) => rank(a.l.label) - rank(b.l.label) || a.i - b.i)
    .map(({ l }) => ({
      label: l.label,
      value: l.label,
      description: [
        formatShape(l.shape),
        l.label === last ? 'last used' : r.recommendedLayers.includes(l.label) ? 'recommended by the model card' : '',
      ]
        .filter(Boolean)
        .join(' · '),
      ...(l.tensor !== l.label ? { detail: `tensor ${l.tensor}` } : {}),
    }));
}

export async function pickLayer(fact: Fact, model: string): Promise<string | undefined> {
  let items: PickItem<string>[];
  try {
    items = await layerItems(fact, model);
  } catch (e) {
    void fact.ui.error(`FaCT: could not read the layers of ${path.basename(model)}: ${(e as Error).message}`);
    return undefined;
  }
  if (items.length === 0) {
    void fact.ui.error(`FaCT: ${path.basename(model)} has no layer with spatial or token features to collect.`);
    return undefined;
  }
  const picked = await fact.ui.quickPick(items, {
    title: `FaCT: collect features of which layer of ${modelDisplayName(model)}?`,
    placeHolder: 'layer',
    matchOnDescription: true,
  });
  return picked?.value;
}

/** The dataset a job uses when nobody says: the remembered one, else the card's train split. */
export function inferDataset(fact: Fact, model: string): DatasetSpec | undefined {
  const remembered = fact.choices.dataset(model);
  if (remembered) return remembered;
  const card = readCardSummary(model);
  if (card && 'train' in card.splits) return { kind: 'split', split: 'train' };
  return undefined;
}

/** Arguments from the tree (a model or layer item), the model panel or the API. */
export function collectArgs(arg: unknown): CollectArgs {
  const model = modelOf(arg);
  const layer = layerOf(arg) ?? (arg && typeof arg === 'object' && 'layer' in arg ? (arg as CollectArgs).layer : undefined);
  const args: CollectArgs = arg && typeof arg === 'object' && !(arg instanceof vscode.Uri) && !('kind' in arg) ? (arg as CollectArgs) : {};
  return { ...args, ...(model ? { model } : {}), ...(layer ? { layer } : {}) };
}

export async function collectFeaturesCommand(fact: Fact, args: CollectArgs = {}): Promise<FeatureManifest | undefined> {
  if (!requireTrust(fact.ui, 'collect features')) return undefined;
  const model =
    args.model !== undefined
      ? await resolveModel(fact, args.model)
      : fact.choices.model()
        ? await resolveModel(fact)
        : await pickModel(fact, { title: 'FaCT: collect features of which model?' });
  if (!model) return undefined;
  const layer = args.layer ?? (await pickLayer(fact, model));
  if (!layer) return undefined;
  let dataset = args.dataset ?? inferDataset(fact, model);
  if (!dataset) {
    const dir = await fact.ui.openDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      title: `FaCT: ${path.basename(model)} has no training data in its card; choose an image folder (one subfolder per class)`,
      openLabel: 'Use Folder',
    });
    if (!dir?.[0]) return undefined;
    dataset = { kind: 'folder', path: dir[0].fsPath };
  }
  const outDir = args.outDir ?? defaultFeaturesDir(model, layer, fact.env());
  await fact.choices.setLayer(model, layer);
  if (!args.dataset) await fact.choices.setDataset(model, dataset);
  const where = args.where ?? (await askWhereToRun(fact, `collect features of ${layer}`));
  if (!where) return undefined;
  if (where === 'slurm') {
    try {
      const said = await submitWithCli(fact, [
        'collect',
        model,
        '--layer',
        layer,
        '--out',
        outDir,
        ...datasetArgs(dataset),
        ...(args.limit ? ['--limit', String(args.limit)] : []),
      ]);
      void fact.ui.info(`FaCT: ${said.split('\n')[0]} Follow it under Cluster jobs.`);
      fact.clusterJobs?.poll();
    } catch (e) {
      void fact.ui.error(`FaCT: ${(e as Error).message}`);
    }
    return undefined;
  }
  const rel = (p: string) => vscode.workspace.asRelativePath(p);
  const start = fact.jobs.start<FeatureManifest>({
    kind: COLLECT_JOB,
    target: collectTarget(model, layer),
    title: `Collecting features of ${layer} (${modelDisplayName(model)})`,
    run: (ctx) => {
      ctx.log(
        `model ${model}, layer ${layer}, dataset: ${describeDataset(dataset, rel)}, output ${outDir}${args.limit ? `, first ${args.limit} images` : ''}.`,
      );
      return fact
        .core()
        .call(
          'collect',
          { model, layer, dataset, outDir, ...(args.limit ? { limit: args.limit } : {}) },
          { signal: ctx.signal, onProgress: ctx.report },
        );
    },
    describeResult: (m) => `${m.vectors} vectors from ${m.imagesDone} images (${m.skipped.length} skipped) in ${outDir}`,
  });
  if (!start.started) return undefined;
  try {
    const m = await start.result;
    void fact.ui
      .info(
        `FaCT: collected ${m.vectors.toLocaleString('en-US')} feature vectors of ${layer} from ${m.imagesDone.toLocaleString('en-US')} images into ${rel(outDir)}.`,
        'Reveal in Explorer',
      )
      .then((a) => {
        if (a) void revealPath(path.join(outDir, 'manifest.json'));
      });
    return m;
  } catch (e) {
    if (isFactError(e) && e.code === 'cancelled') {
      void fact.ui.info(`FaCT: feature collection for ${layer} was cancelled; run it again to resume where it stopped.`);
    } else {
      void fact.ui.error(`FaCT: feature collection for ${layer} failed: ${(e as Error).message}`, 'Show Log').then((a) => {
        if (a) log().show(true);
      });
    }
    return undefined;
  }
}
