// FaCT: Train SAE (and the training panel's Resume): asks only for what it cannot infer — the model (the active one),
// the feature store (the only one, else a pick), the dictionary size and k (defaults from the store's shape).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isFactError } from '../../core/errors';
import type { CoreMethods } from '../../core/jobs/methods';
import { checkpointFiles } from '../../core/sae/saeFolder';
import { log } from '../log';
import { modelDisplayName } from '../models';
import { TrainingPanel } from '../panels/trainingPanel';
import { pickModel, resolveModel } from '../pick/pickModel';
import {
  defaultCheckpointDir,
  defaultSaeShape,
  modelFeatureStores,
  readFeatureStore,
  readTrainingLog,
  waitForTrainState,
  type FeatureStoreInfo,
} from '../sae/saeFiles';
import type { Fact } from '../services';
import { askWhereToRun, submitWithCli, type RunWhere } from '../slurm/submitToSlurm';
import { asNode } from '../tree/nodeArgs';
import { requireTrust } from '../trust';
import type { PickItem } from '../ui';

export const TRAIN_JOB = 'train';
export type TrainResult = CoreMethods['train']['result'];

const BROWSE = 'browse';
const fsPath = (x: vscode.Uri | string | undefined) => (x instanceof vscode.Uri ? x.fsPath : x);
const rel = (p: string) => vscode.workspace.asRelativePath(p);

export interface TrainArgs {
  model?: vscode.Uri | string;
  layer?: string;
  /** The feature store folder (a collect output). */
  features?: vscode.Uri | string;
  k?: number;
  dictSize?: number;
  epochs?: number;
  batchSize?: number;
  out?: string;
  /** Continue the interrupted run in `out` (the training panel's Resume). */
  resume?: boolean;
  /** Show the training panel (default true). */
  panel?: boolean;
  /** Where to run; asked when Slurm is configured and this is not given. */
  where?: RunWhere;
}

/** Arguments from the tree (a layer), the explorer (a feature folder), a training panel or the API. */
export function trainArgs(arg: unknown): TrainArgs {
  const n = asNode(arg);
  if (n?.kind === 'layer') return { model: n.model, layer: n.label };
  if (n?.kind === 'model') return { model: n.file };
  if (n?.kind === 'sae') return { model: n.model, layer: n.layer };
  if (arg instanceof vscode.Uri) return { features: arg };
  if (arg && typeof arg === 'object') return arg as TrainArgs;
  return {};
}

async function pickFeatureStore(fact: Fact, model: string, layer: string | undefined): Promise<string | undefined> {
  const stores = (await modelFeatureStores(model, fact.env())).filter((s) => !layer || s.layer === layer);
  if (stores.length === 1) return stores[0]!.dir;
  const COLLECT = '\u0000collect';
  const items: PickItem<string>[] = stores.map((s) => ({
    label: s.layer,
    value: s.dir,
    description: `${s.vectors.toLocaleString('en-US')} vectors of ${s.dim} from ${s.images.toLocaleString('en-US')} images${s.complete ? '' : ' (incomplete)'}`,
    detail: rel(s.dir),
  }));
  if (stores.length === 0)
    items.push({
      label: `Collect features${layer ? ` of ${layer}` : ''} first…`,
      value: COLLECT,
      description: 'FaCT: Collect Features, then train',
    });
  items.push({ label: 'Browse…', value: BROWSE, description: 'a feature store folder (with manifest.json)' });
  const picked = await fact.ui.quickPick(items, {
    title: `FaCT: train an SAE on which features of ${modelDisplayName(model)}?`,
    placeHolder: stores.length ? 'feature store' : 'no feature store yet',
  });
  if (!picked?.value) return undefined;
  if (picked.value === COLLECT) {
    const m = await vscode.commands.executeCommand<{ layer: { name: string } } | undefined>('fact.collectFeatures', {
      model,
      ...(layer ? { layer } : {}),
    });
    if (!m) return undefined;
    const again = (await modelFeatureStores(model, fact.env())).find((s) => s.layer === m.layer.name);
    return again?.dir;
  }
  if (picked.value === BROWSE) {
    const dir = await fact.ui.openDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      title: 'FaCT: a feature store folder (FaCT: Collect Features makes one)',
      openLabel: 'Train on These Features',
    });
    return dir?.[0]?.fsPath;
  }
  return picked.value;
}

async function askInt(fact: Fact, prompt: string, value: number, check: (n: number) => string | undefined): Promise<number | undefined> {
  const v = await fact.ui.inputBox({
    title: 'FaCT: Train SAE',
    prompt,
    value: String(value),
    validateInput: (s) => (/^\s*\d+\s*$/.test(s) ? (check(Number(s)) ?? null) : 'a whole number'),
  });
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  return Number.isInteger(n) && !check(n) ? n : undefined;
}

export async function trainSaeCommand(fact: Fact, args: TrainArgs = {}): Promise<TrainResult | undefined> {
  if (!requireTrust(fact.ui, 'train an SAE')) return undefined;
  let features = fsPath(args.features);
  let store: FeatureStoreInfo | undefined = features ? await readFeatureStore(features) : undefined;
  if (features && !store) {
    void fact.ui.error(`FaCT: '${features}' is not a feature store (it has no FaCT manifest.json). FaCT: Collect Features makes one.`);
    return undefined;
  }
  const model =
    args.model !== undefined
      ? await resolveModel(fact, args.model)
      : fact.choices.model() && existsSync(fact.choices.model()!)
        ? fact.choices.model()!
        : await pickModel(fact, { title: 'FaCT: train an SAE for which model?' });
  if (!model) return undefined;
  if (!features) {
    features = await pickFeatureStore(fact, model, args.layer);
    if (!features) return undefined;
    store = await readFeatureStore(features);
    if (!store) {
      void fact.ui.error(`FaCT: '${features}' is not a feature store (it has no FaCT manifest.json).`);
      return undefined;
    }
  }
  const layer = store!.layer;
  const defaults = defaultSaeShape(store!.dim, store!.vectors);
  const dictSize =
    args.dictSize ??
    (await askInt(
      fact,
      `Dictionary size (concepts) for ${layer} (${store!.dim} channels; default 8 per channel)`,
      defaults.dictSize,
      (n) => (n >= 2 ? undefined : 'at least 2'),
    ));
  if (dictSize === undefined) return undefined;
  const kDefault = Math.min(defaults.k, dictSize - 1);
  const k =
    args.k ??
    (await askInt(fact, `k: concepts active per feature vector (TopK), below ${dictSize}`, kDefault, (n) =>
      n >= 1 && n < dictSize ? undefined : `between 1 and ${dictSize - 1}`,
    ));
  if (k === undefined) return undefined;
  const batchSize = args.batchSize ?? (defaults.batchSize < 4096 ? defaults.batchSize : undefined);
  const target = args.out
    ? { dir: args.out, resumable: existsSync(path.join(args.out, checkpointFiles.trainStateJson)) }
    : defaultCheckpointDir(model, layer, k, dictSize, fact.env());
  const out = target.dir;
  const resume = args.resume ?? target.resumable;
  const settings = {
    model,
    features,
    out,
    layer,
    k,
    dictSize,
    vectors: store!.vectors,
    ...(args.epochs !== undefined ? { epochs: args.epochs } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
  };
  // A run cancelled a moment ago may still be saving its state in the worker: resume from the whole state.
  if (resume && !(await waitForTrainState(out))) log().warn(`The training state in ${out} did not settle; resuming anyway.`);
  const where = args.where ?? (await askWhereToRun(fact, `train an SAE on ${layer}`));
  if (!where) return undefined;
  if (where === 'slurm') {
    try {
      const said = await submitWithCli(fact, [
        'train',
        model,
        '--features',
        features,
        '--out',
        out,
        '--k',
        String(k),
        '--dict-size',
        String(dictSize),
        '--requeue',
        ...(args.epochs !== undefined ? ['--epochs', String(args.epochs)] : []),
        ...(batchSize !== undefined ? ['--batch', String(batchSize)] : []),
      ]);
      void fact.ui.info(`FaCT: ${said.split('\n')[0]} Follow it under Cluster jobs.`);
      fact.clusterJobs?.poll();
    } catch (e) {
      void fact.ui.error(`FaCT: ${(e as Error).message}`);
    }
    return undefined;
  }
  const session = fact.training.forRun(settings, resume ? await readTrainingLog(out) : undefined);
  const name = fact.saes.displayName(model, out);
  const start = fact.jobs.start<TrainResult>({
    kind: TRAIN_JOB,
    target: out,
    title: `Training SAE ${name} on ${layer} (${modelDisplayName(model)})`,
    run: (ctx) => {
      ctx.log(
        `features ${features}, ${store!.vectors} vectors of ${store!.dim}; k ${k}, ${dictSize} concepts${args.epochs ? `, ${args.epochs} epochs` : ''}${batchSize ? `, batch ${batchSize}` : ''}; output ${out}${resume ? ' (resuming)' : ''}.`,
      );
      return fact.core().call(
        'train',
        {
          model,
          features: features!,
          out,
          k,
          dictSize,
          resume,
          ...(args.epochs !== undefined ? { epochs: args.epochs } : {}),
          ...(batchSize !== undefined ? { batchSize } : {}),
        },
        {
          signal: ctx.signal,
          onProgress: (m, f, d) => {
            ctx.report(m, f);
            session.progress(m, f, d);
          },
        },
      );
    },
    describeResult: (r) => `${r.steps} steps in ${r.seconds.toFixed(1)} s${r.resumed ? ' (resumed)' : ''} → ${out}`,
  });
  if (args.panel !== false) TrainingPanel.show(fact, out);
  if (!start.started) return undefined;
  session.jobId = start.job.id;
  session.begin(resume);
  try {
    const r = await start.result;
    await session.end('succeeded', { seconds: r.seconds });
    await fact.choices.setSae(model, out);
    fact.saes.invalidate();
    fact.concepts.forget(out);
    void fact.ui
      .info(
        `FaCT: trained SAE ${name} (${layer}, k ${k}, ${dictSize.toLocaleString('en-US')} concepts) in ${r.seconds.toFixed(1)} s; it is now the SAE of ${modelDisplayName(model)}.`,
        'Evaluate',
      )
      .then((a) => {
        if (a) void fact.ui.executeCommand('fact.evaluateSae', { model, sae: out });
      });
    return r;
  } catch (e) {
    if (isFactError(e) && e.code === 'cancelled') {
      await session.end('cancelled');
      // The training panel, when on screen, says so and offers Resume itself.
      if (!TrainingPanel.open.get(out)?.panel.visible)
        void fact.ui
          .info(
            `FaCT: training of SAE ${name} was cancelled; its state is saved and Resume (in the training panel) continues it.`,
            'Resume',
          )
          .then((a) => {
            if (a) void fact.ui.executeCommand('fact.trainSae', { ...args, model, features, out, k, dictSize, resume: true });
          });
    } else {
      await session.end('failed', { error: (e as Error).message });
      void fact.ui.error(`FaCT: training SAE ${name} failed: ${(e as Error).message}`, 'Show Log').then((a) => {
        if (a) log().show(true);
      });
    }
    fact.saes.invalidate();
    return undefined;
  }
}
