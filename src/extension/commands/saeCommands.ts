// The SAE commands: FaCT: Choose SAE…, Train SAE, Evaluate SAE, Measure Consistency, Open Concept, and the tree's
// "Use This SAE" / "Explain an Image with This SAE…". Each asks only for what it cannot infer: the model (the active
// one), the SAE (the one chosen for the model, else its only checkpoint), the feature store (the only one, else a
// pick), the dataset (the card's test split), the foundation model (the card's, else the one beside the model).
import { askWhereToRun, submitWithCli, type RunWhere } from '../slurm/submitToSlurm';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { checkpointFiles } from '../../core/sae/saeFolder';
import * as vscode from 'vscode';
import type { DatasetSpec } from '../../core/data/openDataset';
import { isFactError } from '../../core/errors';
import type { CoreMethods } from '../../core/jobs/methods';
import { log } from '../log';
import { foundationCandidates, modelDisplayName, readCardSummary } from '../models';
import { ConceptPanel } from '../panels/conceptPanel';
import { ConsistencyPanel } from '../panels/consistencyPanel';
import { TrainingPanel } from '../panels/trainingPanel';
import { conceptsByContribution, defaultCheckpointDir, defaultSaeShape, modelFeatureStores, readFeatureStore, readTrainingLog, waitForTrainState, type FeatureStoreInfo } from '../sae/saeFiles';
import { NO_SAE } from '../sae/saeIndex';
import type { Fact } from '../services';
import type { SaeCheckpointInfo } from '../tree/saeCheckpoints';
import { checkpointFacts } from '../tree/saeCheckpoints';
import { requireTrust } from '../trust';
import type { PickItem } from '../ui';
import { pickModel, resolveModel } from './pickModel';
import { asNode } from './treeCommands';

export const TRAIN_JOB = 'train';
export const EVALUATE_JOB = 'evaluate';
export const CONSISTENCY_JOB = 'consistency';

export type TrainResult = CoreMethods['train']['result'];
export type EvaluateResult = CoreMethods['evaluate']['result'];
export type ConsistencyResult = CoreMethods['consistency']['result'];

const fsPath = (x: vscode.Uri | string | undefined) => (x instanceof vscode.Uri ? x.fsPath : x);
const rel = (p: string) => vscode.workspace.asRelativePath(p);

export interface SaeTarget { model: string; sae: string }

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

function saeItems(fact: Fact, model: string, checkpoints: SaeCheckpointInfo[], current: string | undefined): PickItem<string>[] {
  return checkpoints.map((c) => ({
    label: fact.saes.displayName(model, c.dir),
    value: c.dir,
    description: [c.dir === current ? 'current' : '', c.k !== undefined ? `k ${c.k}` : '', c.dictSize !== undefined ? `${c.dictSize.toLocaleString('en-US')} concepts` : '', ...checkpointFacts(c).map((f) => f.short)].filter(Boolean).join(' · '),
    detail: c.problem ?? rel(c.dir),
  }));
}

/** Asks which of the model's checkpoints to use (and remembers it). */
export async function pickSae(fact: Fact, model: string, title: string): Promise<string | undefined> {
  const list = await fact.saes.list(model);
  if (list.length === 0) return undefined;
  const picked = await fact.ui.quickPick(saeItems(fact, model, list, fact.choices.sae(model)), { title, placeHolder: 'SAE checkpoint', matchOnDescription: true });
  if (picked?.value) await fact.choices.setSae(model, picked.value);
  return picked?.value;
}

/** Tells that the model has no SAE, offering to train one. */
function noSae(fact: Fact, model: string): void {
  void fact.ui.info(`FaCT: ${modelDisplayName(model)} has no SAE checkpoint yet. Collect a layer's features, then train one.`, 'Train SAE…').then((a) => {
    if (a) void vscode.commands.executeCommand('fact.trainSae', { model });
  });
}

/** The model and SAE a command works on: given, else the active model's SAE (asking only when several exist). */
export async function resolveModelSae(fact: Fact, arg: unknown, title: string): Promise<SaeTarget | undefined> {
  const given = saeArg(arg);
  const model = given.model ? await resolveModel(fact, given.model) : fact.choices.model() && existsSync(fact.choices.model()!) ? fact.choices.model()! : await pickModel(fact, { title });
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

// ── FaCT: Choose SAE… and Use This SAE ──────────────────────────────────────────────────────────────────────────

const BROWSE = 'browse';

/** FaCT: Choose SAE… — the model's checkpoints, "no SAE", or a checkpoint folder anywhere; remembered per model. */
export async function chooseSaeCommand(fact: Fact, arg?: unknown): Promise<string | null | undefined> {
  const given = saeArg(arg);
  const model = given.model ?? (fact.choices.model() && existsSync(fact.choices.model()!) ? fact.choices.model() : await pickModel(fact, { title: 'FaCT: choose an SAE for which model?' }));
  if (!model) return undefined;
  if (given.sae) {
    await fact.choices.setSae(model, given.sae);
    return given.sae;
  }
  const list = await fact.saes.list(model);
  const current = fact.choices.sae(model);
  const eff = await fact.saes.effective(model);
  const items: PickItem<string>[] = saeItems(fact, model, list, eff.dir);
  items.push({ label: 'No SAE', value: NO_SAE, description: current === NO_SAE ? 'current' : 'explain with the model alone (no concepts)' });
  items.push({ label: 'Browse…', value: BROWSE, description: 'an SAE checkpoint folder (cfg.json + sae.safetensors)' });
  const picked = await fact.ui.quickPick(items, { title: `FaCT: SAE for ${modelDisplayName(model)}`, placeHolder: list.length ? 'SAE checkpoint' : 'this model has no SAE checkpoint yet', matchOnDescription: true });
  if (!picked || picked.value === undefined) return undefined;
  let dir = picked.value;
  if (dir === BROWSE) {
    const chosen = await fact.ui.openDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, title: 'FaCT: an SAE checkpoint folder', openLabel: 'Use SAE' });
    if (!chosen?.[0]) return undefined;
    dir = chosen[0].fsPath;
    if (!existsSync(path.join(dir, checkpointFiles.cfg))) {
      void fact.ui.error(`FaCT: '${dir}' is not an SAE checkpoint folder (it has no cfg.json).`);
      return undefined;
    }
  }
  await fact.choices.setSae(model, dir);
  log().info(dir === NO_SAE ? `No SAE for ${model}.` : `SAE for ${model}: ${dir}.`);
  return dir === NO_SAE ? null : dir;
}

// ── FaCT: Train SAE ─────────────────────────────────────────────────────────────────────────────────────────────

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
  const items: PickItem<string>[] = stores.map((s) => ({ label: s.layer, value: s.dir, description: `${s.vectors.toLocaleString('en-US')} vectors of ${s.dim} from ${s.images.toLocaleString('en-US')} images${s.complete ? '' : ' (incomplete)'}`, detail: rel(s.dir) }));
  if (stores.length === 0) items.push({ label: `Collect features${layer ? ` of ${layer}` : ''} first…`, value: COLLECT, description: 'FaCT: Collect Features, then train' });
  items.push({ label: 'Browse…', value: BROWSE, description: 'a feature store folder (with manifest.json)' });
  const picked = await fact.ui.quickPick(items, { title: `FaCT: train an SAE on which features of ${modelDisplayName(model)}?`, placeHolder: stores.length ? 'feature store' : 'no feature store yet' });
  if (!picked?.value) return undefined;
  if (picked.value === COLLECT) {
    const m = await vscode.commands.executeCommand<{ layer: { name: string } } | undefined>('fact.collectFeatures', { model, ...(layer ? { layer } : {}) });
    if (!m) return undefined;
    const again = (await modelFeatureStores(model, fact.env())).find((s) => s.layer === m.layer.name);
    return again?.dir;
  }
  if (picked.value === BROWSE) {
    const dir = await fact.ui.openDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, title: 'FaCT: a feature store folder (FaCT: Collect Features makes one)', openLabel: 'Train on These Features' });
    return dir?.[0]?.fsPath;
  }
  return picked.value;
}

async function askInt(fact: Fact, prompt: string, value: number, check: (n: number) => string | undefined): Promise<number | undefined> {
  const v = await fact.ui.inputBox({
    title: 'FaCT: Train SAE',
    prompt,
    value: String(value),
    validateInput: (s) => (/^\s*\d+\s*$/.test(s) ? check(Number(s)) ?? null : 'a whole number'),
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
  const model = args.model !== undefined ? await resolveModel(fact, args.model) : fact.choices.model() && existsSync(fact.choices.model()!) ? fact.choices.model()! : await pickModel(fact, { title: 'FaCT: train an SAE for which model?' });
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
  const dictSize = args.dictSize ?? (await askInt(fact, `Dictionary size (concepts) for ${layer} (${store!.dim} channels; default 8 per channel)`, defaults.dictSize, (n) => (n >= 2 ? undefined : 'at least 2')));
  if (dictSize === undefined) return undefined;
  const kDefault = Math.min(defaults.k, dictSize - 1);
  const k = args.k ?? (await askInt(fact, `k: concepts active per feature vector (TopK), below ${dictSize}`, kDefault, (n) => (n >= 1 && n < dictSize ? undefined : `between 1 and ${dictSize - 1}`)));
  if (k === undefined) return undefined;
  const batchSize = args.batchSize ?? (defaults.batchSize < 4096 ? defaults.batchSize : undefined);
  const target = args.out ? { dir: args.out, resumable: existsSync(path.join(args.out, checkpointFiles.trainStateJson)) } : defaultCheckpointDir(model, layer, k, dictSize, fact.env());
  const out = target.dir;
  const resume = args.resume ?? target.resumable;
  const settings = { model, features, out, layer, k, dictSize, vectors: store!.vectors, ...(args.epochs !== undefined ? { epochs: args.epochs } : {}), ...(batchSize !== undefined ? { batchSize } : {}) };
  // A run cancelled a moment ago may still be saving its state in the worker: resume from the whole state.
  if (resume && !(await waitForTrainState(out))) log().warn(`The training state in ${out} did not settle; resuming anyway.`);
  const where = args.where ?? (await askWhereToRun(fact, `train an SAE on ${layer}`));
  if (!where) return undefined;
  if (where === 'slurm') {
    try {
      const said = await submitWithCli(fact, ['train', model, '--features', features, '--out', out, '--k', String(k), '--dict-size', String(dictSize), '--requeue', ...(args.epochs !== undefined ? ['--epochs', String(args.epochs)] : []), ...(batchSize !== undefined ? ['--batch', String(batchSize)] : [])]);
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
      ctx.log(`features ${features}, ${store!.vectors} vectors of ${store!.dim}; k ${k}, ${dictSize} concepts${args.epochs ? `, ${args.epochs} epochs` : ''}${batchSize ? `, batch ${batchSize}` : ''}; output ${out}${resume ? ' (resuming)' : ''}.`);
      return fact.core().call('train', { model, features: features!, out, k, dictSize, resume, ...(args.epochs !== undefined ? { epochs: args.epochs } : {}), ...(batchSize !== undefined ? { batchSize } : {}) }, {
        signal: ctx.signal,
        onProgress: (m, f, d) => {
          ctx.report(m, f);
          session.progress(m, f, d);
        },
      });
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
    void fact.ui.info(`FaCT: trained SAE ${name} (${layer}, k ${k}, ${dictSize.toLocaleString('en-US')} concepts) in ${r.seconds.toFixed(1)} s; it is now the SAE of ${modelDisplayName(model)}.`, 'Evaluate').then((a) => {
      if (a) void vscode.commands.executeCommand('fact.evaluateSae', { model, sae: out });
    });
    return r;
  } catch (e) {
    if (isFactError(e) && e.code === 'cancelled') {
      await session.end('cancelled');
      // The training panel, when on screen, says so and offers Resume itself.
      if (!TrainingPanel.open.get(out)?.panel.visible) void fact.ui.info(`FaCT: training of SAE ${name} was cancelled; its state is saved and Resume (in the training panel) continues it.`, 'Resume').then((a) => {
        if (a) void vscode.commands.executeCommand('fact.trainSae', { ...args, model, features, out, k, dictSize, resume: true });
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

// ── FaCT: Evaluate SAE ──────────────────────────────────────────────────────────────────────────────────────────

export interface EvaluateArgs { model?: string; sae?: string; dataset?: DatasetSpec; limit?: number }

export async function evaluateSaeCommand(fact: Fact, arg?: unknown): Promise<EvaluateResult | undefined> {
  if (!requireTrust(fact.ui, 'evaluate an SAE')) return undefined;
  const t = await resolveModelSae(fact, arg, 'FaCT: evaluate which SAE?');
  if (!t) return undefined;
  const { model, sae } = t;
  const o = (arg && typeof arg === 'object' && !asNode(arg) ? arg : {}) as EvaluateArgs;
  let dataset = o.dataset;
  if (!dataset && !('test' in (readCardSummary(model)?.splits ?? {}))) {
    const dir = await fact.ui.openDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, title: `FaCT: evaluate on which images? ${path.basename(model)}'s card has no test split (one subfolder per class)`, openLabel: 'Evaluate' });
    if (!dir?.[0]) return undefined;
    dataset = { kind: 'folder', path: dir[0].fsPath };
  }
  const name = fact.saes.displayName(model, sae);
  const start = fact.jobs.start<EvaluateResult>({
    kind: EVALUATE_JOB,
    target: sae,
    title: `Evaluating SAE ${name} (${modelDisplayName(model)})`,
    run: (ctx) => {
      ctx.log(`model ${model}, SAE ${sae}, dataset ${dataset ? JSON.stringify(dataset) : "the card's test split"}${o.limit ? `, first ${o.limit} images` : ''}.`);
      return fact.core().call('evaluate', { model, sae, cacheRoot: fact.env().cacheRoot, ...(dataset ? { dataset } : {}), ...(o.limit ? { limit: o.limit } : {}) }, { signal: ctx.signal, onProgress: ctx.report });
    },
    describeResult: (r) => `accuracy with the SAE ${(100 * r.metrics.accuracyWithSae).toFixed(2)} % on ${r.metrics.images} images`,
  });
  if (!start.started) return undefined;
  try {
    const r = await start.result;
    fact.saes.invalidate();
    fact.concepts.forget(sae);
    const m = r.metrics;
    void fact.ui.info(`FaCT: SAE ${name} evaluated on ${m.images.toLocaleString('en-US')} images: accuracy with the SAE ${(100 * m.accuracyWithSae).toFixed(1)} % (without ${(100 * m.accuracy).toFixed(1)} %), ${m.alive} concepts alive, ${m.imageL0.toFixed(1)} present per image.`, 'Open Concept…', 'Measure Consistency').then((a) => {
      if (a === 'Open Concept…') void vscode.commands.executeCommand('fact.openConcept', { model, sae });
      if (a === 'Measure Consistency') void vscode.commands.executeCommand('fact.measureConsistency', { model, sae });
    });
    return r;
  } catch (e) {
    if (isFactError(e) && e.code === 'cancelled') void fact.ui.info(`FaCT: evaluation of SAE ${name} was cancelled.`);
    else void fact.ui.error(`FaCT: evaluating SAE ${name} failed: ${(e as Error).message}`, 'Show Log').then((a) => a && log().show(true));
    return undefined;
  }
}

// ── FaCT: Measure Consistency ───────────────────────────────────────────────────────────────────────────────────

export interface ConsistencyArgs { model?: string; sae?: string; foundation?: string; meanImages?: number; panel?: boolean }

/** The foundation model for C²: given, the card's, the only one beside the model, else asked for. */
async function chooseFoundation(fact: Fact, model: string, given?: string): Promise<string | null | undefined> {
  if (given) return given;
  const card = readCardSummary(model);
  if (card?.foundation) return null; // the core reads the card's
  const beside = foundationCandidates(model);
  if (beside.length === 1) return beside[0]!;
  const picked = await fact.ui.openDialog({
    canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, openLabel: 'Measure C²',
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
    run: (ctx) => fact.core().call('consistency', { model, sae, cacheRoot: fact.env().cacheRoot, ...(foundation ? { foundation } : {}), ...(o.meanImages ? { meanImages: o.meanImages } : {}) }, { signal: ctx.signal, onProgress: ctx.report }),
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
      void fact.ui.error(`FaCT: measuring C² of SAE ${name} failed: ${(e as Error).message}`, 'Show Log').then((a) => a && log().show(true));
    }
    return undefined;
  }
}

/** Opens the consistency panel from the report on disk (the tree's "Show Consistency"); measures when there is none. */
export async function showConsistencyCommand(fact: Fact, arg?: unknown): Promise<ConsistencyPanel | undefined> {
  const t = await resolveModelSae(fact, arg, 'FaCT: show the C² consistency of which SAE?');
  if (!t) return undefined;
  if (!(await fact.concepts.consistency(t.sae))) {
    await measureConsistencyCommand(fact, t);
    return ConsistencyPanel.open.get(t.sae);
  }
  return ConsistencyPanel.show(fact, t);
}

// ── FaCT: Open Concept ──────────────────────────────────────────────────────────────────────────────────────────

export interface OpenConceptArgs { model?: string; sae?: string; concept?: number }

export async function openConceptCommand(fact: Fact, arg?: unknown): Promise<ConceptPanel | undefined> {
  if (!requireTrust(fact.ui, 'open a concept')) return undefined;
  const t = await resolveModelSae(fact, arg, 'FaCT: open a concept of which SAE?');
  if (!t) return undefined;
  const { model, sae } = t;
  let concept = (arg && typeof arg === 'object' && !asNode(arg) ? (arg as OpenConceptArgs).concept : undefined) ?? (typeof arg === 'number' ? arg : undefined);
  if (concept === undefined) {
    concept = await pickConcept(fact, model, sae);
    if (concept === undefined) return undefined;
  }
  return ConceptPanel.show(fact, { model, sae, concept });
}

/** A quick pick of the SAE's concepts by mean contribution (the atlas is built first when needed). */
export async function pickConcept(fact: Fact, model: string, sae: string): Promise<number | undefined> {
  const name = fact.saes.displayName(model, sae);
  let atlas;
  try {
    atlas = await fact.concepts.atlas(model, sae);
  } catch (e) {
    if (isFactError(e) && e.code === 'cancelled') return undefined;
    const needsEval = /evaluat/i.test((e as Error).message);
    void fact.ui.error(`FaCT: the concepts of SAE ${name} cannot be listed: ${(e as Error).message}`, ...(needsEval ? ['Evaluate'] : [])).then((a) => {
      if (a) void vscode.commands.executeCommand('fact.evaluateSae', { model, sae });
    });
    return undefined;
  }
  const c2 = new Map((await fact.concepts.consistency(sae))?.report.concepts.map((c) => [c.concept, c.score]) ?? []);
  const items: PickItem<number>[] = conceptsByContribution(atlas).map((c, i) => ({
    label: `Concept ${c.concept}`,
    value: c.concept,
    description: [`#${i + 1} by mean contribution ${c.meanContribution.toFixed(3)}`, `in ${(100 * c.frequency).toFixed(1)} % of images`, c2.has(c.concept) ? `C² ${c2.get(c.concept)!.toFixed(3)}` : ''].filter(Boolean).join(' · '),
    ...(c.classes.length ? { detail: `mostly ${c.classes.slice(0, 3).map((k) => k.name).join(', ')}` } : {}),
  }));
  const picked = await fact.ui.quickPick(items, { title: `FaCT: concepts of SAE ${name} (${modelDisplayName(model)}), by mean contribution`, placeHolder: 'concept number or class name', matchOnDescription: false, matchOnDetail: true });
  return picked?.value;
}

