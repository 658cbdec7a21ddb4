// FaCT for VS Code: activation wires commands, panels, the view, the status bar and the core worker together.
// Nothing heavy happens here: models run in the worker thread, and only when something asks.
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { ModelInspection } from '../core/model/inspectModel';
import type { FeatureManifest } from '../core/features/manifest';
import { chooseDatasetCommand } from './commands/chooseDataset';
import { collectArgs, collectFeaturesCommand, type CollectArgs } from './commands/collectFeatures';
import { explainArgs, explainImageCommand, type ExplainArgs } from './commands/explainImage';
import { explainImageWithSaeCommand } from './commands/explainImageWithSae';
import { openModelCommand } from './commands/openModel';
import { cancelJobCommand } from './commands/cancelJob';
import { chooseSaeCommand } from './commands/chooseSae';
import { resumeTrainingCommand } from './commands/resumeTraining';
import { selectModelCommand } from './commands/selectModel';
import { showTrainingCommand } from './commands/showTraining';
import { deleteCheckpoint } from './commands/deleteCheckpoint';
import { evaluateSaeCommand, type EvaluateResult } from './commands/evaluateSae';
import { measureConsistencyCommand, type ConsistencyResult } from './commands/measureConsistency';
import { openConceptCommand } from './commands/openConcept';
import { revealNode } from './commands/revealInExplorer';
import { showConsistencyCommand } from './commands/showConsistency';
import { trainArgs, trainSaeCommand, type TrainArgs, type TrainResult } from './commands/trainSae';
import { saeArg } from './pick/pickSae';
import { modelOf } from './tree/nodeArgs';
import { missingNativeBinaries, missingNativeMessage } from '../core/nativeRuntime';
import { core, registerCoreLifecycle } from './coreClient';
import { JobRunner } from './jobs/jobRunner';
import { vscodeJobHost } from './jobs/vscodeJobHost';
import { log, useLogChannel } from './log';
import { FactHoverProvider, HOVER_LANGUAGES, type HoverStats } from './hover/hoverProvider';
import { ConceptPanel, conceptPanelKind } from './panels/conceptPanel';
import { ConsistencyPanel, consistencyPanelKind } from './panels/consistencyPanel';
import { ExplainPanel, explainPanelKind, type PaintRecord } from './panels/explainPanel';
import { ModelPanel, modelPanelKind } from './panels/modelPanel';
import { panelSerializer } from './panels/panelHost';
import { TrainingPanel, trainingPanelKind } from './panels/trainingPanel';
import { ConceptService } from './sae/conceptService';
import { SaeIndex } from './sae/saeIndex';
import { TrainingSessions } from './sae/trainingSessions';
import { modelEnv, type Fact } from './services';
import { Choices } from './state/choices';
import { registerStatusBar, statusText, type StatusText } from './statusBar';
import { FACT_VIEW_ID, FactTreeProvider, type FactNode } from './tree/factTree';
import { cancelClusterJob, openJobLog } from './slurm/jobCommands';
import { vscodeUi, type Ui } from './ui';
import { registerWarmUp } from './warmUp';

/** Returned for tests and for other extensions: the same entry points the commands use. */
export interface FactApi {
  openModel(uri?: vscode.Uri): Promise<ModelPanel | undefined>;
  inspect(file: string): Promise<ModelInspection>;
  explainImage(args: ExplainArgs): Promise<ExplainPanel | undefined>;
  collectFeatures(args: CollectArgs): Promise<FeatureManifest | undefined>;
  trainSae(args: TrainArgs): Promise<TrainResult | undefined>;
  evaluateSae(args: {
    model?: string;
    sae?: string;
    dataset?: import('../core/data/openDataset').DatasetSpec;
    limit?: number;
  }): Promise<EvaluateResult | undefined>;
  measureConsistency(args: {
    model?: string;
    sae?: string;
    foundation?: string;
    meanImages?: number;
    panel?: boolean;
  }): Promise<ConsistencyResult | undefined>;
  openConcept(args: { model?: string; sae?: string; concept?: number }): Promise<ConceptPanel | undefined>;
  readonly choices: Choices;
  readonly saes: SaeIndex;
  readonly concepts: ConceptService;
  readonly training: TrainingSessions;
  readonly jobs: JobRunner;
  readonly tree: FactTreeProvider;
  readonly treeView: vscode.TreeView<FactNode>;
  explainPanel(): ExplainPanel | undefined;
  conceptPanel(): ConceptPanel | undefined;
  consistencyPanel(sae: string): ConsistencyPanel | undefined;
  trainingPanel(out: string): TrainingPanel | undefined;
  /** The hover previews' background work (each key computed once) and a way to wait for it. */
  hovers: {
    stats(): HoverStats;
    settled(): Promise<void>;
    clear(): void;
    provide(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined;
    languages: string[];
  };
  /** The last explanation that reached the screen, with the time from request to paint. */
  lastPaint(): PaintRecord | undefined;
  statusText(): StatusText;
  /** What VS Code does to restore a FaCT panel after a window reload: the viewType's serializer, with this state. */
  restorePanel(panel: vscode.WebviewPanel, state: unknown): Promise<void>;
  /** Replaces some of the UI calls (pickers, dialogs, messages) until the returned function is called. */
  scriptUi(overrides: Partial<Ui>): () => void;
}

export function activate(context: vscode.ExtensionContext): FactApi {
  const t0 = performance.now();
  useLogChannel(vscode.window.createOutputChannel('FaCT', { log: true }));
  registerCoreLifecycle(context);
  // The UI is an object of its own so that tests can script parts of it (scriptUi).
  const ui: Ui = { ...vscodeUi };
  // A VSIX built for another platform lacks this machine's onnxruntime or sharp binaries: say which, and what to install.
  const missingNative = missingNativeBinaries(context.extensionPath);
  if (missingNative.length) {
    const message = missingNativeMessage(missingNative);
    log().error(message);
    void ui.error(message);
  }
  const choices = new Choices(context.workspaceState);
  const jobs = new JobRunner(vscodeJobHost(ui));
  const env = modelEnv(context);
  const saes = new SaeIndex(choices, env);
  const concepts = new ConceptService(core, jobs, env, (sae) => {
    const m = choices.model();
    return m ? saes.displayName(m, sae) : (sae.split(/[\\/]/).pop() ?? sae);
  });
  const training = new TrainingSessions();
  const fact: Fact = {
    extensionUri: context.extensionUri,
    ui,
    choices,
    jobs,
    saes,
    concepts,
    training,
    core,
    env,
    now: () => performance.now(),
  };
  // Checkpoints change on disk (trained, evaluated, deleted, copied in): the index reads them again.
  const saeWatcher = vscode.workspace.createFileSystemWatcher('**/saes/**');
  let saeTimer: NodeJS.Timeout | undefined;
  const onSaeFile = () => {
    if (saeTimer) clearTimeout(saeTimer);
    saeTimer = setTimeout(() => saes.invalidate(), 200);
  };
  for (const ev of [saeWatcher.onDidCreate, saeWatcher.onDidChange, saeWatcher.onDidDelete]) context.subscriptions.push(ev(onSaeFile));
  const hovers = new FactHoverProvider(fact);

  const tree = new FactTreeProvider(fact);
  const treeView = vscode.window.createTreeView(FACT_VIEW_ID, { treeDataProvider: tree, showCollapseAll: true });
  fact.clusterJobs = tree.clusterJobs;

  const serializers: Record<string, vscode.WebviewPanelSerializer<unknown>> = {
    [modelPanelKind.viewType]: panelSerializer(modelPanelKind, fact, (panel, state) => ModelPanel.revive(fact, panel, state)),
    [explainPanelKind.viewType]: panelSerializer(explainPanelKind, fact, (panel, state) => ExplainPanel.revive(fact, panel, state)),
    [conceptPanelKind.viewType]: panelSerializer(conceptPanelKind, fact, (panel, state) => ConceptPanel.revive(fact, panel, state)),
    [consistencyPanelKind.viewType]: panelSerializer(consistencyPanelKind, fact, (panel, state) =>
      ConsistencyPanel.revive(fact, panel, state),
    ),
    [trainingPanelKind.viewType]: panelSerializer(trainingPanelKind, fact, (panel, state) => TrainingPanel.revive(fact, panel, state)),
  };
  const command = (id: string, fn: (...args: unknown[]) => unknown) => vscode.commands.registerCommand(id, fn);
  context.subscriptions.push(
    choices,
    { dispose: () => jobs.dispose() },
    saes,
    training,
    saeWatcher,
    { dispose: () => saeTimer && clearTimeout(saeTimer) },
    tree,
    treeView,
    command('fact.openModel', (arg) => openModelCommand(fact, modelOf(arg))),
    command('fact.openJobLog', (arg) => openJobLog(fact, arg)),
    command('fact.cancelClusterJob', (arg) => cancelClusterJob(fact, arg)),
    command('fact.selectModel', (arg) => selectModelCommand(fact, arg)),
    command('fact.setActiveModel', async (arg) => {
      const model = modelOf(arg);
      if (model) await choices.setModel(model);
      return model;
    }),
    command('fact.explainImage', (arg, selection) => explainImageCommand(fact, explainArgs(arg, selection))),
    command('fact.explainImageWithModel', (arg) => {
      const model = modelOf(arg);
      return explainImageCommand(fact, model ? { model } : { askModel: true });
    }),
    command('fact.collectFeatures', (arg) => collectFeaturesCommand(fact, collectArgs(arg))),
    command('fact.chooseDataset', (arg) => chooseDatasetCommand(fact, arg)),
    command('fact.cancelJob', (arg) => cancelJobCommand(fact, arg)),
    command('fact.selectSae', (arg) => chooseSaeCommand(fact, arg)),
    command('fact.useSae', (arg) => chooseSaeCommand(fact, saeArg(arg))),
    command('fact.explainImageWithSae', (arg, selection) => explainImageWithSaeCommand(fact, arg, selection)),
    command('fact.trainSae', (arg) => trainSaeCommand(fact, trainArgs(arg))),
    command('fact.resumeTraining', (arg) => resumeTrainingCommand(fact, arg)),
    command('fact.showTraining', (arg) => showTrainingCommand(fact, arg)),
    command('fact.evaluateSae', (arg) => evaluateSaeCommand(fact, arg)),
    command('fact.measureConsistency', (arg) => measureConsistencyCommand(fact, arg)),
    command('fact.showConsistency', (arg) => showConsistencyCommand(fact, arg)),
    command('fact.openConcept', (arg) => openConceptCommand(fact, arg)),
    command('fact.refreshModels', () => {
      saes.invalidate();
      tree.refresh();
    }),
    command('fact.revealInExplorer', (arg) => revealNode(arg)),
    command('fact.deleteCheckpoint', (arg) => deleteCheckpoint(fact, arg)),
    command('fact.showLog', () => log().show(true)),
    vscode.window.registerWebviewPanelSerializer(modelPanelKind.viewType, serializers[modelPanelKind.viewType]!),
    vscode.window.registerWebviewPanelSerializer(explainPanelKind.viewType, serializers[explainPanelKind.viewType]!),
    vscode.window.registerWebviewPanelSerializer(conceptPanelKind.viewType, serializers[conceptPanelKind.viewType]!),
    vscode.window.registerWebviewPanelSerializer(consistencyPanelKind.viewType, serializers[consistencyPanelKind.viewType]!),
    vscode.window.registerWebviewPanelSerializer(trainingPanelKind.viewType, serializers[trainingPanelKind.viewType]!),
    vscode.languages.registerHoverProvider(
      HOVER_LANGUAGES.map((language) => ({ language, scheme: 'file' })),
      hovers,
    ),
    registerStatusBar(fact),
    registerWarmUp(fact),
    vscode.workspace.onDidGrantWorkspaceTrust(() => log().info('The workspace is now trusted: FaCT can run models.')),
  );
  log().info(
    `FaCT activated in ${(performance.now() - t0).toFixed(0)} ms (node ${process.version}, VS Code ${vscode.version}${vscode.workspace.isTrusted ? '' : ', untrusted workspace: no models run'}).`,
  );

  return {
    openModel: (uri) => openModelCommand(fact, uri),
    inspect: (file) => core().call('inspect', { model: file }),
    explainImage: (args) => explainImageCommand(fact, args),
    collectFeatures: (args) => collectFeaturesCommand(fact, args),
    trainSae: (args) => trainSaeCommand(fact, args),
    evaluateSae: (args) => evaluateSaeCommand(fact, args),
    measureConsistency: (args) => measureConsistencyCommand(fact, args),
    openConcept: (args) => openConceptCommand(fact, args),
    choices,
    saes,
    concepts,
    training,
    jobs,
    tree,
    treeView,
    explainPanel: () => ExplainPanel.current,
    conceptPanel: () => ConceptPanel.current,
    consistencyPanel: (sae) => ConsistencyPanel.open.get(sae),
    trainingPanel: (out) => TrainingPanel.open.get(out),
    hovers: {
      stats: () => hovers.stats(),
      settled: () => hovers.settled(),
      clear: () => hovers.clear(),
      provide: (doc, pos) => hovers.provideHover(doc, pos),
      languages: HOVER_LANGUAGES,
    },
    lastPaint: () => ExplainPanel.lastPaint,
    statusText: () => statusText(fact),
    restorePanel: async (panel, state) => {
      const s = serializers[panel.viewType];
      if (!s) throw new Error(`FaCT has no serializer for ${panel.viewType}`);
      await s.deserializeWebviewPanel(panel, state);
    },
    scriptUi(overrides) {
      const saved = { ...ui };
      Object.assign(ui, overrides);
      return () => Object.assign(ui, saved);
    },
  };
}

export function deactivate(): void {}
