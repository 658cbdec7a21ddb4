// The "FaCT" view: models (the workspace's .onnx files and the embedded default) → their candidate layers (from
// `inspect`, read when a model is expanded) → the SAE checkpoints found for each layer. It refreshes itself when
// .onnx files or checkpoint files change, when the active model changes and when the workspace becomes trusted.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelInspection } from '../../core/model/inspectModel';
import { formatShape } from '../../core/onnx/inspect';
import { workspaceModels } from '../pick/pickModel';
import { embeddedDefaultModel, isFeatureExtractor, modelDisplayName, readCardSummary, saeDirs } from '../models';
import type { Fact } from '../services';
import {
  checkpointFacts,
  describeCheckpoint,
  findCheckpoints,
  formatMetric,
  headlineMetrics,
  type SaeCheckpointInfo,
} from './saeCheckpoints';
import type { FactJob } from '../../core/slurm/jobStatus';
import { slurmConfigured } from '../slurm/submitToSlurm';
import { clusterJobItem, ClusterJobs } from './clusterJobs';
import { codeSpan, escapeMarkdown } from '../hover/hoverText';

export interface ModelNode {
  kind: 'model';
  file: string;
  embedded: boolean;
}
export interface LayerNode {
  kind: 'layer';
  parent: ModelNode;
  model: string;
  label: string;
  tensor: string;
  shape: string;
  recommended: boolean;
  checkpoints: SaeCheckpointInfo[];
}
export interface SaeNode {
  kind: 'sae';
  parent: LayerNode;
  model: string;
  layer: string;
  info: SaeCheckpointInfo;
}
export interface InfoNode {
  kind: 'info';
  parent: ModelNode | LayerNode;
  label: string;
  tooltip?: string;
  icon: string;
}
export interface JobsNode {
  kind: 'jobs';
}
export interface JobNode {
  kind: 'job';
  parent: JobsNode;
  job: FactJob;
}
export type FactNode = ModelNode | LayerNode | SaeNode | InfoNode | JobsNode | JobNode;

export const FACT_VIEW_ID = 'fact.models';

export class FactTreeProvider implements vscode.TreeDataProvider<FactNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<FactNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** Inspections by model file; dropped when the file changes or on an explicit refresh. */
  private readonly inspections = new Map<string, Promise<ModelInspection>>();
  private readonly disposables: vscode.Disposable[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Resolves after the next refresh was fired (tests wait on it). */
  private refreshWaiters: (() => void)[] = [];
  /** Slurm's jobs of this project, when a Slurm cluster is configured here (a login node). */
  readonly clusterJobs = new ClusterJobs();
  private readonly jobsNode: JobsNode = { kind: 'jobs' };

  constructor(private readonly fact: Fact) {
    this.disposables.push(
      this.clusterJobs,
      this.clusterJobs.onDidChange(({ finished }) => (finished ? this.refresh() : this.changed.fire(this.jobsNode))),
    );
    const onModelFile = (uri: vscode.Uri) => {
      this.inspections.delete(uri.fsPath);
      this.scheduleRefresh();
    };
    const models = vscode.workspace.createFileSystemWatcher('**/*.onnx');
    models.onDidCreate(onModelFile, null, this.disposables);
    models.onDidChange(onModelFile, null, this.disposables);
    models.onDidDelete(onModelFile, null, this.disposables);
    // Checkpoints: anything under a saes/ folder. (Watching only the files can miss those written into a folder that
    // was created a moment before: a recursive inotify watch reaches a new folder a little late.)
    const cfgs = vscode.workspace.createFileSystemWatcher('**/saes/**');
    for (const ev of [cfgs.onDidCreate, cfgs.onDidChange, cfgs.onDidDelete]) ev(() => this.scheduleRefresh(), null, this.disposables);
    this.disposables.push(
      models,
      cfgs,
      fact.choices.onDidChange((what) => {
        if (what === 'model' || what === 'sae') this.scheduleRefresh();
      }),
      fact.saes.onDidChange(() => this.scheduleRefresh()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.refresh()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
    );
  }

  /** Re-reads everything (layers included) now. */
  refresh(): void {
    this.inspections.clear();
    this.fire();
  }

  /** A refresh soon, coalescing bursts of file events. */
  scheduleRefresh(delayMs = 250): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.fire();
    }, delayMs);
  }

  /** Resolves once the next refresh has been fired. */
  nextRefresh(): Promise<void> {
    return new Promise((r) => this.refreshWaiters.push(r));
  }

  private fire(): void {
    this.changed.fire(undefined);
    for (const w of this.refreshWaiters.splice(0)) w();
  }

  getParent(node: FactNode): FactNode | undefined {
    return node.kind === 'model' || node.kind === 'jobs' ? undefined : node.parent;
  }

  async getChildren(node?: FactNode): Promise<FactNode[]> {
    // (The cluster jobs are read when their node is expanded; the poll then keeps them current.)
    if (!node) return [...(await this.models()), ...(slurmConfigured() ? [this.jobsNode] : [])];
    if (node.kind === 'jobs') {
      this.clusterJobs.poll();
      return this.clusterJobs.jobs.map((job) => ({ kind: 'job', parent: this.jobsNode, job }));
    }
    if (node.kind === 'job') return [];
    if (node.kind === 'model') return this.layers(node);
    if (node.kind === 'layer')
      return node.checkpoints.map((info) => ({ kind: 'sae', parent: node, model: node.model, layer: node.label, info }));
    return [];
  }

  private async models(): Promise<ModelNode[]> {
    // Foundation (feature-extractor) models serve C²; they are not models to explain.
    const root = this.fact.env().workspaceFolder;
    const files = (await workspaceModels(this.fact)).filter((f) => !isFeatureExtractor(f, root));
    const nodes: ModelNode[] = files.map((file) => ({ kind: 'model', file, embedded: false }));
    const embedded = embeddedDefaultModel(this.fact.env().extensionPath);
    if (embedded && !files.includes(embedded)) nodes.push({ kind: 'model', file: embedded, embedded: true });
    return nodes;
  }

  private inspect(file: string): Promise<ModelInspection> {
    let p = this.inspections.get(file);
    if (!p) {
      p = this.fact.core().call('inspect', { model: file });
      p.catch(() => this.inspections.delete(file));
      this.inspections.set(file, p);
    }
    return p;
  }

  private async layers(model: ModelNode): Promise<(LayerNode | InfoNode)[]> {
    if (!this.fact.ui.isTrusted()) {
      return [
        {
          kind: 'info',
          parent: model,
          label: 'Trust this workspace to list layers',
          tooltip: 'Listing layers runs the model once; FaCT runs no models in Restricted Mode.',
          icon: 'shield',
        },
      ];
    }
    let r: ModelInspection;
    try {
      r = await this.inspect(model.file);
    } catch (e) {
      return [{ kind: 'info', parent: model, label: 'Cannot read this model', tooltip: (e as Error).message, icon: 'error' }];
    }
    if (r.layers.length === 0)
      return [
        {
          kind: 'info',
          parent: model,
          label: 'No candidate layers',
          tooltip: 'No block boundary with spatial or token features was found.',
          icon: 'info',
        },
      ];
    const env = this.fact.env();
    // The SAE index decides which checkpoint is "active"; read it before the items are drawn.
    await this.fact.saes.list(model.file).catch(() => []);
    return Promise.all(
      r.layers.map(async (l) => {
        const found = (await Promise.all(saeDirs(model.file, l.label, env).map((d) => findCheckpoints(d, env.cacheRoot)))).flat();
        return {
          kind: 'layer',
          parent: model,
          model: model.file,
          label: l.label,
          tensor: l.tensor,
          shape: formatShape(l.shape),
          recommended: r.recommendedLayers.includes(l.label),
          checkpoints: found,
        } satisfies LayerNode;
      }),
    );
  }

  getTreeItem(node: FactNode): vscode.TreeItem {
    switch (node.kind) {
      case 'model':
        return this.modelItem(node);
      case 'layer':
        return layerItem(node, this.fact.choices.layer(node.model));
      case 'sae':
        return saeItem(node, this.fact.saes.peekEffective(node.model)?.dir);
      case 'job':
        return clusterJobItem(node.job);
      case 'jobs': {
        const item = new vscode.TreeItem('Cluster jobs', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = 'slurm:jobs';
        item.iconPath = new vscode.ThemeIcon('server-environment');
        const active = this.clusterJobs.jobs.filter((j) => j.active).length;
        item.description = this.clusterJobs.problem ? 'squeue failed' : active ? `${active} active` : '';
        item.tooltip = this.clusterJobs.problem ?? "FaCT's Slurm jobs (squeue): state, progress, log.";
        item.contextValue = 'fact.clusterJobs';
        return item;
      }
      case 'info': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        if (node.tooltip) item.tooltip = node.tooltip;
        item.contextValue = 'fact.info';
        return item;
      }
    }
  }

  private modelItem(node: ModelNode): vscode.TreeItem {
    const card = readCardSummary(node.file);
    const active = this.fact.choices.model() === node.file;
    const item = new vscode.TreeItem(
      node.embedded ? modelDisplayName(node.file, card) : path.basename(node.file),
      vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = `model:${node.file}`;
    const where = node.embedded ? 'embedded default' : path.dirname(vscode.workspace.asRelativePath(node.file));
    item.description = [active ? 'active' : '', where === '.' ? '' : where].filter(Boolean).join(' · ');
    item.iconPath = new vscode.ThemeIcon(active ? 'pass-filled' : 'circuit-board');
    const md = new vscode.MarkdownString(undefined, true);
    // Names from card.json (a file we did not write) are escaped: literal text, never links.
    md.appendMarkdown(`**${escapeMarkdown(modelDisplayName(node.file, card))}**${active ? ' (active model)' : ''}\n\n`);
    md.appendMarkdown(`${codeSpan(node.file)}\n\n`);
    if (card)
      md.appendMarkdown(
        `Model card: ${card.layers.length ? `SAE layers ${card.layers.map(codeSpan).join(', ')}` : 'no SAE layers named'}${Object.keys(card.splits).length ? `; data: ${Object.keys(card.splits).map(escapeMarkdown).join(', ')}` : ''}\n\n`,
      );
    else md.appendMarkdown('No model card (card.json) beside the model.\n\n');
    md.appendMarkdown('Expand to list the candidate layers.');
    item.tooltip = md;
    item.contextValue = node.embedded ? 'fact.model.embedded' : 'fact.model';
    if (!node.embedded) item.resourceUri = vscode.Uri.file(node.file);
    return item;
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.changed.dispose();
  }
}

function layerItem(node: LayerNode, lastLayer: string | undefined): vscode.TreeItem {
  const n = node.checkpoints.length;
  const item = new vscode.TreeItem(node.label, n ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = `layer:${node.model}#${node.label}`;
  item.description = [
    node.shape,
    node.recommended ? 'card' : '',
    node.label === lastLayer ? 'last used' : '',
    n ? `${n} SAE${n > 1 ? 's' : ''}` : 'no SAE',
  ]
    .filter(Boolean)
    .join(' · ');
  item.iconPath = new vscode.ThemeIcon('layers');
  const md = new vscode.MarkdownString();
  md.appendMarkdown(
    `**${escapeMarkdown(node.label)}** ${codeSpan(node.shape)}${node.recommended ? ' — recommended by the model card' : ''}\n\n`,
  );
  md.appendMarkdown(`Tensor ${codeSpan(node.tensor)}\n\n`);
  md.appendMarkdown(
    n
      ? `${n} SAE checkpoint${n > 1 ? 's' : ''}.`
      : 'No SAE checkpoints for this layer yet: collect its features first (right-click → Collect Features for This Layer).',
  );
  item.tooltip = md;
  item.contextValue = 'fact.layer';
  return item;
}

function saeItem(node: SaeNode, activeSae: string | undefined): vscode.TreeItem {
  const c = node.info;
  const item = new vscode.TreeItem(c.name, vscode.TreeItemCollapsibleState.None);
  item.id = `sae:${c.dir}`;
  const active = activeSae === c.dir;
  item.description = [active ? 'active' : '', describeCheckpoint(c)].filter(Boolean).join(' · ');
  item.iconPath = new vscode.ThemeIcon(c.problem ? 'warning' : active ? 'symbol-class' : 'symbol-misc');
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**SAE ${escapeMarkdown(c.name)}** for ${codeSpan(node.layer)}${active ? ' (the SAE explanations use)' : ''}\n\n`);
  if (c.problem) md.appendMarkdown(`${escapeMarkdown(c.problem)}\n\n`);
  const facts = [
    c.k !== undefined ? `k = ${c.k}` : '',
    c.dictSize !== undefined ? `${c.dictSize.toLocaleString('en-US')} concepts` : '',
    c.dModel !== undefined ? `d = ${c.dModel}` : '',
  ].filter(Boolean);
  if (facts.length) md.appendMarkdown(`${facts.join(' · ')}\n\n`);
  const known = checkpointFacts(c);
  if (known.length) md.appendMarkdown(`${known.map((f) => `- ${f.long}`).join('\n')}\n\n`);
  if (c.evaluation?.alive !== undefined)
    md.appendMarkdown(
      `${c.evaluation.alive.toLocaleString('en-US')} concepts alive${c.evaluation.imageL0 !== undefined ? `, ${c.evaluation.imageL0.toFixed(1)} present per image` : ''}${c.evaluation.relativeSquaredError !== undefined ? `, relative squared error ${formatMetric(c.evaluation.relativeSquaredError)}` : ''}\n\n`,
    );
  const { validation, bestEpoch, bestStep, ...rest } = c.metrics;
  if (validation !== undefined)
    md.appendMarkdown(
      `Validation accuracy with the SAE during training: ${(100 * validation).toFixed(1)} %${bestEpoch !== undefined ? ` (best at epoch ${bestEpoch}${bestStep !== undefined ? `, step ${bestStep.toLocaleString('en-US')}` : ''})` : ''}\n\n`,
    );
  const metrics = headlineMetrics(rest);
  if (metrics.length) md.appendMarkdown(`${metrics.map(([k, v]) => `- ${k}: ${formatMetric(v)}`).join('\n')}\n\n`);
  if (!c.has?.evaluation && !c.problem)
    md.appendMarkdown('Not evaluated yet: right-click → Evaluate SAE (its concepts need an evaluation).\n\n');
  if (c.resumable) md.appendMarkdown('Its training was interrupted: right-click → Resume Training.\n\n');
  if (c.createdAt)
    md.appendMarkdown(
      `Trained ${c.createdAt}${c.trainingSteps !== undefined ? ` (${c.trainingSteps.toLocaleString('en-US')} steps)` : ''}\n\n`,
    );
  md.appendMarkdown(`\`${c.dir}\``);
  item.tooltip = md;
  item.contextValue = ['fact.sae', c.has?.consistency ? 'consistency' : '', c.has?.trainingLog ? 'log' : '', c.resumable ? 'resumable' : '']
    .filter(Boolean)
    .join('.');
  item.resourceUri = vscode.Uri.file(c.dir);
  return item;
}
