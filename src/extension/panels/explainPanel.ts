// The Explain panel (FaCT: Explain Image): the image, the prediction and top classes (pick one to explain it
// instead), the B-cos explanation of the full logit, the signed contribution map and the completeness line, with an
// export to a self-contained HTML report. One panel, reused for the next image (like a preview), restored after a
// window reload. The input picture is sent before the model runs, so the panel paints at once.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import {
  explainHostMessageSchema, explainPanelStateSchema, explainWebviewMessageSchema,
  type ExplainHostMessage, type ExplainPanelState, type ExplainView, type ExplainWebviewMessage,
} from '../../../webview/shared/protocol';
import { isFactError } from '../../core/errors';
import { log } from '../log';
import { isInside, modelDisplayName, modelWorkDir } from '../models';
import type { Fact } from '../services';
import { renderExplainReport } from './explainReport';
import { toExplainView } from './explainView';
import { createPanel, PanelHost, type PanelKind } from './panelHost';

export const EXPLAIN_PANEL_VIEW_TYPE = 'fact.explain';

export const explainPanelKind: PanelKind<ExplainHostMessage, ExplainWebviewMessage, ExplainPanelState> = {
  viewType: EXPLAIN_PANEL_VIEW_TYPE,
  entry: 'explain',
  hostMessages: explainHostMessageSchema,
  webviewMessages: explainWebviewMessageSchema,
  state: explainPanelStateSchema,
};

export interface ExplainRequest {
  model: string;
  image: string;
  classIndex?: number;
  /** performance.now() when the person asked (command run, class clicked): the panel reports command → painted. */
  startedAt?: number;
}

export interface PaintRecord { image: string; classIndex: number; ms: number; computeSeconds: number; firstLoad: boolean }

/** Images larger than this are not sent ahead as a preview (the explanation's own input picture follows). */
const MAX_PREVIEW_BYTES = 4 * 1024 * 1024;

export class ExplainPanel extends PanelHost<ExplainHostMessage, ExplainWebviewMessage, ExplainPanelState> {
  static current: ExplainPanel | undefined;
  private static readonly paintedEmitter = new vscode.EventEmitter<PaintRecord>();
  /** Fires when an asked-for explanation is on screen, with the time from the request. */
  static readonly onDidPaint = ExplainPanel.paintedEmitter.event;
  static lastPaint: PaintRecord | undefined;

  private request: ExplainRequest;
  private seq = 0;
  private view: ExplainView | undefined;
  private pendingPaint: (ExplainRequest & { startedAt: number }) | undefined;
  private paints = 0;

  static show(fact: Fact, req: ExplainRequest): ExplainPanel {
    const open = ExplainPanel.current;
    if (open && !open.isDisposed) {
      open.reveal();
      void open.explain(req);
      return open;
    }
    return new ExplainPanel(createPanel(fact.extensionUri, EXPLAIN_PANEL_VIEW_TYPE, titleFor(req.image)), fact, req);
  }

  static revive(fact: Fact, panel: vscode.WebviewPanel, state: ExplainPanelState): ExplainPanel {
    ExplainPanel.current?.dispose();
    return new ExplainPanel(panel, fact, { model: state.model, image: state.image, ...(state.classIndex !== null ? { classIndex: state.classIndex } : {}) });
  }

  private constructor(panel: vscode.WebviewPanel, fact: Fact, req: ExplainRequest) {
    super(panel, fact, explainPanelKind, titleFor(req.image));
    this.request = req;
    ExplainPanel.current = this;
    this.onDidDispose(() => {
      if (ExplainPanel.current === this) ExplainPanel.current = undefined;
    });
    this.trackJobs((j) => j.target === this.request.model || j.target.startsWith(`${this.request.model}#`));
    void this.explain(req);
  }

  /** What the panel shows now (for tests and the export). */
  get currentView(): ExplainView | undefined {
    return this.view;
  }

  get currentRequest(): ExplainRequest {
    return this.request;
  }

  async explain(req: ExplainRequest): Promise<ExplainView | undefined> {
    const seq = ++this.seq;
    this.request = req;
    this.pendingPaint = req.startedAt !== undefined ? { ...req, startedAt: req.startedAt } : undefined;
    this.panel.title = titleFor(req.image);
    const modelName = modelDisplayName(req.model);
    const sameImage = this.view?.image === req.image && this.view.model === req.model;
    this.post({
      type: 'loading', model: req.model, modelName, image: req.image, imageName: path.basename(req.image),
      input: sameImage ? this.view!.images.input : await previewDataUri(req.image), classIndex: req.classIndex ?? null,
    }, { retain: sameImage ? false : 'main' });
    const t0 = performance.now();
    try {
      const r = await this.fact.core().call('explain', { model: req.model, image: req.image, ...(req.classIndex !== undefined ? { classIndex: req.classIndex } : {}) });
      if (seq !== this.seq || this.isDisposed) return undefined;
      const view = toExplainView(r, modelName, (performance.now() - t0) / 1000);
      this.view = view;
      this.post({ type: 'explanation', view });
      log().info(`Explained ${req.image} with ${req.model}: class ${view.classIndex} '${view.className}', logit ${view.logit.toFixed(4)}, completeness error ${view.completenessError.toExponential(1)}, ${view.seconds.toFixed(2)} s.`);
      return view;
    } catch (e) {
      if (seq !== this.seq || this.isDisposed) return undefined;
      const message = (e as Error).message;
      if (!(isFactError(e) && e.code === 'cancelled')) log().error(`Explain ${req.image} with ${req.model}: ${(e as Error).stack ?? message}`);
      this.view = undefined;
      this.post({ type: 'error', message });
      return undefined;
    }
  }

  protected override async onMessage(m: ExplainWebviewMessage): Promise<void> {
    switch (m.type) {
      case 'explainClass':
        await this.explain({ model: this.request.model, image: this.request.image, classIndex: m.classIndex, startedAt: performance.now() });
        break;
      case 'exportReport':
        await this.exportReport();
        break;
      case 'revealImage':
        await revealFile(this.request.image);
        break;
      case 'openModel':
        await vscode.commands.executeCommand('fact.openModel', vscode.Uri.file(this.request.model));
        break;
      case 'painted':
        this.onPainted(m.image, m.classIndex);
        break;
    }
  }

  private onPainted(image: string, classIndex: number): void {
    const p = this.pendingPaint;
    if (!p || p.image !== image || (p.classIndex !== undefined && p.classIndex !== classIndex) || this.view?.classIndex !== classIndex) return;
    this.pendingPaint = undefined;
    const record: PaintRecord = { image, classIndex, ms: Math.round(performance.now() - p.startedAt), computeSeconds: this.view.seconds, firstLoad: this.paints++ === 0 };
    ExplainPanel.lastPaint = record;
    log().info(`Explain panel painted ${record.ms} ms after the request (${path.basename(image)}, class ${classIndex}; the core took ${(record.computeSeconds * 1000).toFixed(0)} ms${record.firstLoad ? ', first paint of this panel' : ''}).`);
    ExplainPanel.paintedEmitter.fire(record);
  }

  /** Asks where to save (unless `target` is given) and writes the report; returns the file written. */
  async exportReport(target?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const v = this.view;
    if (!v) {
      void this.fact.ui.info('FaCT: there is no explanation to export yet.');
      return undefined;
    }
    let uri = target;
    if (!uri) {
      const env = this.fact.env();
      const near = env.workspaceFolder && isInside(v.image, env.workspaceFolder) ? path.dirname(v.image) : env.workspaceFolder ?? modelWorkDir(v.model, env);
      const stem = path.basename(v.image).replace(/\.[^.]+$/, '');
      const name = `${stem}-${v.className.replace(/[^A-Za-z0-9._-]+/g, '_')}-fact.html`;
      uri = await this.fact.ui.saveDialog({ defaultUri: vscode.Uri.file(path.join(near, name)), filters: { 'HTML report': ['html'] }, title: 'FaCT: export the explanation as an HTML report', saveLabel: 'Export' });
      if (!uri) return undefined;
    }
    const ext = vscode.extensions.getExtension('fact-vscode.fact-vscode');
    const html = renderExplainReport(v, {
      generatedAt: new Date(),
      tool: `FaCT for VS Code ${(ext?.packageJSON as { version?: string } | undefined)?.version ?? ''}`.trim(),
      executionProvider: vscode.workspace.getConfiguration('fact').get<string>('executionProvider', 'cpu'),
    });
    await vscode.workspace.fs.writeFile(uri, Buffer.from(html, 'utf8'));
    log().info(`Exported the explanation of ${v.image} (${v.className}) to ${uri.fsPath} (${(html.length / 1024).toFixed(0)} KB).`);
    if (!target) {
      void this.fact.ui.info(`FaCT: report saved to ${vscode.workspace.asRelativePath(uri)}.`, 'Reveal').then((a) => {
        if (a === 'Reveal') void revealFile(uri.fsPath);
      });
    }
    return uri;
  }
}

function titleFor(image: string): string {
  return `Explain: ${path.basename(image)}`;
}

async function previewDataUri(image: string): Promise<string | null> {
  try {
    const st = await fs.stat(image);
    if (st.size > MAX_PREVIEW_BYTES) return null;
    const mime = /\.png$/i.test(image) ? 'image/png' : 'image/jpeg';
    return `data:${mime};base64,${(await fs.readFile(image)).toString('base64')}`;
  } catch {
    return null;
  }
}

async function revealFile(file: string): Promise<void> {
  const uri = vscode.Uri.file(file);
  const inWorkspace = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
  await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
}
