// The Explain panel (FaCT: Explain Image): the image, the prediction and top classes (pick one to explain it
// instead), the B-cos explanation of the full logit, the signed contribution map and the completeness line, with an
// export to a self-contained HTML report. One panel, reused for the next image (like a preview), restored after a
// window reload. The input picture is sent before the model runs, so the panel paints at once.
// With an SAE for the model (the chosen one, else its only checkpoint) the concept slots fill after the plain
// explanation: the same logit through the SAE's concepts (core `explainConcepts`) — contributions and shares, each
// top concept's trace on this image with its top-activating dataset images (core `concept`, from the atlas), the
// full logit through the SAE and the completeness line Σ c_k + bias = logit.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { ranOnLabel } from '../ranOn';
import { revealPath } from '../reveal';
import {
  explainHostMessageSchema,
  explainPanelStateSchema,
  explainWebviewMessageSchema,
  type ConceptDecisionView,
  type ConceptStripView,
  type ExplainHostMessage,
  type ExplainPanelState,
  type ExplainView,
  type ExplainWebviewMessage,
} from '../../../webview/shared/protocol';
import { isFactError } from '../../core/errors';
import { log } from '../log';
import { isInside, modelDisplayName, modelWorkDir } from '../models';
import type { Fact } from '../services';
import { renderExplainReport } from '../../core/report/explainReport';
import { toConceptDecisionView, toConceptStripView, toExplainView } from './explainView';
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
  /** The SAE to explain through (a checkpoint folder), null for none; absent: the model's chosen or only one. */
  sae?: string | null;
  /** performance.now() when the person asked (command run, class clicked): the panel reports command → painted. */
  startedAt?: number;
}

export interface PaintRecord {
  image: string;
  classIndex: number;
  ms: number;
  computeSeconds: number;
  firstLoad: boolean;
  /** Where the time went, in ms after the request: the core's result arrived; the page said `ready` (a page that was
   *  already showing: undefined). Painting follows whichever came last. */
  resultMs: number;
  pageReadyMs?: number;
}

/** Images larger than this are not sent ahead as a preview (the explanation's own input picture follows). */
const MAX_PREVIEW_BYTES = 4 * 1024 * 1024;

/** Concepts traced on the image (each with its top dataset images); the rest are "other concepts". */
export const TRACED_CONCEPTS = 6;

/** What the concept slots show: no SAE, loading, the decision through the SAE, or why not. */
export interface ConceptSlotsState {
  status: 'none' | 'loading' | 'ready' | 'error';
  sae?: string;
  view?: ConceptDecisionView;
  message?: string;
  strips: ConceptStripView[];
  stripsStatus: 'loading' | 'ready' | 'unavailable' | 'none';
  stripsMessage?: string;
}

export class ExplainPanel extends PanelHost<ExplainHostMessage, ExplainWebviewMessage, ExplainPanelState> {
  static current: ExplainPanel | undefined;
  private static readonly paintedEmitter = new vscode.EventEmitter<PaintRecord>();
  /** Fires when an asked-for explanation is on screen, with the time from the request. */
  static readonly onDidPaint = ExplainPanel.paintedEmitter.event;
  static lastPaint: PaintRecord | undefined;

  private request: ExplainRequest;
  private seq = 0;
  private view: ExplainView | undefined;
  private pendingPaint: (ExplainRequest & { startedAt: number; resultAt?: number; pageReadyAt?: number }) | undefined;
  private paints = 0;
  private slots: ConceptSlotsState = { status: 'none', strips: [], stripsStatus: 'none' };
  private readonly slotsChanged = new vscode.EventEmitter<ConceptSlotsState>();
  /** Fires whenever the concept slots change (tests wait on it). */
  readonly onDidChangeConcepts = this.slotsChanged.event;

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
    return new ExplainPanel(panel, fact, {
      model: state.model,
      image: state.image,
      ...(state.classIndex !== null ? { classIndex: state.classIndex } : {}),
      ...(state.sae !== undefined ? { sae: state.sae } : {}),
    });
  }

  private constructor(panel: vscode.WebviewPanel, fact: Fact, req: ExplainRequest) {
    super(panel, fact, explainPanelKind, titleFor(req.image));
    this.request = req;
    ExplainPanel.current = this;
    this.onDidDispose(() => {
      if (ExplainPanel.current === this) ExplainPanel.current = undefined;
    });
    this.trackJobs(
      (j) =>
        j.target === this.request.model ||
        j.target.startsWith(`${this.request.model}#`) ||
        (this.slots.sae !== undefined && j.target === this.slots.sae),
    );
    // Choosing another SAE for the model (or none) explains the shown image through it.
    this.disposables.push(this.slotsChanged, {
      dispose: fact.choices.onDidChange((what) => {
        if (what !== 'sae' || this.request.sae !== undefined || !this.view) return;
        const shown = this.view;
        void fact.saes.effective(this.request.model).then((eff) => {
          if (eff.dir !== this.slots.sae && this.view === shown)
            void this.explain({ ...this.request, classIndex: shown.classIndex, startedAt: performance.now() });
        });
      }).dispose,
    });
    void this.explain(req);
  }

  /** What the concept slots show now (for tests and the export). */
  get concepts(): ConceptSlotsState {
    return this.slots;
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
    this.markPostLog('explain');
    this.request = req;
    this.pendingPaint = req.startedAt !== undefined ? { ...req, startedAt: req.startedAt } : undefined;
    this.panel.title = titleFor(req.image);
    const modelName = modelDisplayName(req.model);
    const sameImage = this.view?.image === req.image && this.view.model === req.model;
    this.post(
      {
        type: 'loading',
        model: req.model,
        modelName,
        image: req.image,
        imageName: path.basename(req.image),
        input: sameImage ? this.view!.images.input : await previewDataUri(req.image),
        classIndex: req.classIndex ?? null,
      },
      { retain: sameImage ? false : 'main' },
    );
    this.setSlots({ status: 'loading', strips: [], stripsStatus: 'none' }, seq);
    const t0 = performance.now();
    try {
      const r = await this.fact
        .core()
        .call('explain', { model: req.model, image: req.image, ...(req.classIndex !== undefined ? { classIndex: req.classIndex } : {}) });
      if (seq !== this.seq || this.isDisposed) return undefined;
      if (this.pendingPaint) this.pendingPaint.resultAt = performance.now();
      const view = toExplainView(r, modelName, (performance.now() - t0) / 1000);
      this.view = view;
      this.post({ type: 'explanation', view });
      log().info(
        `Explained ${req.image} with ${req.model}: class ${view.classIndex} '${view.className}', logit ${view.logit.toFixed(4)}, completeness error ${view.completenessError.toExponential(1)}, ${view.seconds.toFixed(2)} s.`,
      );
      void this.explainConcepts(seq, req, view);
      return view;
    } catch (e) {
      if (seq !== this.seq || this.isDisposed) return undefined;
      const message = (e as Error).message;
      if (!(isFactError(e) && e.code === 'cancelled'))
        log().error(`Explain ${req.image} with ${req.model}: ${(e as Error).stack ?? message}`);
      this.view = undefined;
      this.post({ type: 'error', message });
      return undefined;
    }
  }

  /** Shows a new state of the concept slots: the decision through the SAE and the strips (all of them). */
  private setSlots(next: ConceptSlotsState, seq: number): boolean {
    if (seq !== this.seq || this.isDisposed) return false;
    this.slots = next;
    const s = next;
    const saeName = s.sae ? this.fact.saes.displayName(this.request.model, s.sae) : null;
    this.post(
      { type: 'concepts', status: s.status, sae: s.sae ?? null, saeName, view: s.view ?? null, message: s.message ?? null },
      { retain: 'concepts' },
    );
    this.post(this.stripsMessage(s, s.strips, false), { retain: 'strips' });
    this.slotsChanged.fire(s);
    return true;
  }

  /**
   * Adds strips (or changes their status) without touching the decision: only the strips new since the last
   * message are sent; a reloaded page gets all of them.
   */
  private setStrips(strips: ConceptStripView[], status: ConceptSlotsState['stripsStatus'], seq: number, message?: string): boolean {
    if (seq !== this.seq || this.isDisposed) return false;
    const shown = this.slots.strips.length;
    const next: ConceptSlotsState = { ...this.slots, strips, stripsStatus: status };
    if (message !== undefined) next.stripsMessage = message;
    this.slots = next;
    this.post(this.stripsMessage(next, strips.slice(shown), true), { retain: 'strips', replay: this.stripsMessage(next, strips, false) });
    this.slotsChanged.fire(next);
    return true;
  }

  private stripsMessage(s: ConceptSlotsState, strips: ConceptStripView[], append: boolean): ExplainHostMessage {
    return { type: 'strips', sae: s.sae ?? '', status: s.stripsStatus, message: s.stripsMessage ?? null, strips, append };
  }

  /** Fills the concept slots: the explained class through the model's SAE, then the top images of its concepts. */
  private async explainConcepts(seq: number, req: ExplainRequest, view: ExplainView): Promise<void> {
    let sae: string | undefined;
    let why = '';
    if (req.sae === null) why = 'No SAE was asked for.';
    else if (req.sae) sae = req.sae;
    else {
      const eff = await this.fact.saes.effective(req.model);
      sae = eff.dir;
      why =
        eff.why === 'none-chosen'
          ? 'You chose to explain this model without an SAE.'
          : eff.why === 'several'
            ? `This model has ${eff.checkpoints.length} SAE checkpoints: choose one to see which concepts make up the logit.`
            : 'This model has no SAE checkpoint yet.';
    }
    if (!sae) {
      this.setSlots({ status: 'none', message: why, strips: [], stripsStatus: 'none' }, seq);
      return;
    }
    this.setSlots({ status: 'loading', sae, strips: [], stripsStatus: 'none' }, seq);
    const t0 = performance.now();
    let cv: ConceptDecisionView;
    try {
      const r = await this.fact
        .core()
        .call('explainConcepts', { model: req.model, sae, image: req.image, classIndex: view.classIndex, topConcepts: TRACED_CONCEPTS });
      if (seq !== this.seq || this.isDisposed) return;
      const layer = (await this.fact.saes.list(req.model)).find((c) => c.dir === sae)?.layer ?? '';
      cv = toConceptDecisionView(r, this.fact.saes.displayName(req.model, sae), layer, (performance.now() - t0) / 1000);
      log().info(
        `Explained ${path.basename(req.image)} through SAE ${sae}: ${cv.className} = Σ ${cv.active} concepts ${cv.conceptSum.toFixed(4)} + bias ${cv.bias.toFixed(4)} (completeness error ${cv.completenessError.toExponential(1)}), ${cv.seconds.toFixed(2)} s.`,
      );
    } catch (e) {
      const message = (e as Error).message;
      if (!(isFactError(e) && e.code === 'cancelled')) log().error(`Explain ${req.image} through ${sae}: ${(e as Error).stack ?? message}`);
      this.setSlots({ status: 'error', sae, message, strips: [], stripsStatus: 'none' }, seq);
      return;
    }
    if (!this.setSlots({ status: 'ready', sae, view: cv, strips: [], stripsStatus: 'loading' }, seq)) return;
    // The top images of each traced concept come from the atlas, which needs a current evaluation.
    const strips: ConceptStripView[] = [];
    const c2 = new Map((await this.fact.concepts.consistency(sae))?.report.concepts.map((c) => [c.concept, c.score]) ?? []);
    try {
      for (const t of cv.traced) {
        const c = await this.fact.concepts.concept(req.model, sae, t.concept);
        if (seq !== this.seq || this.isDisposed) return;
        if (!c.stripPng) continue;
        strips.push(toConceptStripView({ ...c, stripPng: c.stripPng }, c2.get(c.concept)));
        this.setStrips([...strips], 'loading', seq);
      }
      this.setStrips([...strips], 'ready', seq);
    } catch (e) {
      const message = (e as Error).message;
      const evaluate = (isFactError(e) && e.code === 'not-evaluated') || /evaluat/i.test(message);
      if (!evaluate && !(isFactError(e) && e.code === 'cancelled')) log().warn(`Top images of the concepts of ${sae}: ${message}`);
      this.setStrips(
        [...strips],
        'unavailable',
        seq,
        evaluate
          ? 'The top dataset images of each concept appear once this SAE is evaluated (FaCT: Evaluate SAE): they come from its concept atlas.'
          : message,
      );
    }
  }

  protected override async onMessage(m: ExplainWebviewMessage): Promise<void> {
    switch (m.type) {
      case 'explainClass':
        await this.explain({
          model: this.request.model,
          image: this.request.image,
          classIndex: m.classIndex,
          startedAt: performance.now(),
        });
        break;
      case 'exportReport':
        await this.exportReport();
        break;
      case 'revealImage':
        await revealPath(this.request.image);
        break;
      case 'openModel':
        await this.fact.ui.executeCommand('fact.openModel', vscode.Uri.file(this.request.model));
        break;
      case 'painted':
        this.onPainted(m.image, m.classIndex);
        break;
      case 'openConcept':
        if (this.slots.sae)
          await this.fact.ui.executeCommand('fact.openConcept', { model: this.request.model, sae: this.slots.sae, concept: m.concept });
        break;
      case 'chooseSae':
        await this.fact.ui.executeCommand('fact.selectSae', { model: this.request.model });
        break;
      case 'evaluateSae': {
        const sae = this.slots.sae;
        if (!sae) break;
        const r = await this.fact.ui.executeCommand('fact.evaluateSae', { model: this.request.model, sae });
        if (r && this.view) await this.explain({ ...this.request, classIndex: this.view.classIndex });
        break;
      }
      case 'trainSae':
        await this.fact.ui.executeCommand('fact.trainSae', { model: this.request.model });
        break;
    }
  }

  protected override onReady(): void {
    if (this.pendingPaint && this.pendingPaint.pageReadyAt === undefined) this.pendingPaint.pageReadyAt = performance.now();
  }

  private onPainted(image: string, classIndex: number): void {
    const p = this.pendingPaint;
    if (!p || p.image !== image || (p.classIndex !== undefined && p.classIndex !== classIndex) || this.view?.classIndex !== classIndex)
      return;
    this.pendingPaint = undefined;
    const record: PaintRecord = {
      image,
      classIndex,
      ms: Math.round(performance.now() - p.startedAt),
      computeSeconds: this.view.seconds,
      firstLoad: this.paints++ === 0,
      resultMs: Math.round((p.resultAt ?? performance.now()) - p.startedAt),
      ...(p.pageReadyAt !== undefined ? { pageReadyMs: Math.round(p.pageReadyAt - p.startedAt) } : {}),
    };
    ExplainPanel.lastPaint = record;
    log().info(
      `Explain panel painted ${record.ms} ms after the request (${path.basename(image)}, class ${classIndex}; the core took ${(record.computeSeconds * 1000).toFixed(0)} ms, its result came at ${record.resultMs} ms${record.pageReadyMs !== undefined ? `, the page was ready at ${record.pageReadyMs} ms` : ''}${record.firstLoad ? ', first paint of this panel' : ''}).`,
    );
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
      const near =
        env.workspaceFolder && isInside(v.image, env.workspaceFolder)
          ? path.dirname(v.image)
          : (env.workspaceFolder ?? modelWorkDir(v.model, env));
      const stem = path.basename(v.image).replace(/\.[^.]+$/, '');
      const name = `${stem}-${v.className.replace(/[^A-Za-z0-9._-]+/g, '_')}-fact.html`;
      uri = await this.fact.ui.saveDialog({
        defaultUri: vscode.Uri.file(path.join(near, name)),
        filters: { 'HTML report': ['html'] },
        title: 'FaCT: export the explanation as an HTML report',
        saveLabel: 'Export',
      });
      if (!uri) return undefined;
    }
    const ext = vscode.extensions.getExtension('fact-vscode.fact-vscode');
    const s = this.slots;
    const concepts =
      s.status === 'ready' && s.view?.classIndex === v.classIndex
        ? {
            view: s.view,
            strips: s.strips,
            ...(s.stripsStatus === 'unavailable' && s.stripsMessage ? { stripsNote: s.stripsMessage } : {}),
          }
        : undefined;
    const html = renderExplainReport([{ explain: v, ...(concepts ? { concepts } : {}) }], {
      generatedAt: new Date(),
      tool: `FaCT for VS Code ${(ext?.packageJSON as { version?: string } | undefined)?.version ?? ''}`.trim(),
      // The provider that actually ran (with the adapter), else the setting.
      executionProvider: ranOnLabel() ?? vscode.workspace.getConfiguration('fact').get<string>('executionProvider', 'auto'),
    });
    await vscode.workspace.fs.writeFile(uri, Buffer.from(html, 'utf8'));
    log().info(`Exported the explanation of ${v.image} (${v.className}) to ${uri.fsPath} (${(html.length / 1024).toFixed(0)} KB).`);
    if (!target) {
      void this.fact.ui.info(`FaCT: report saved to ${vscode.workspace.asRelativePath(uri)}.`, 'Reveal').then((a) => {
        if (a === 'Reveal') void revealPath(uri.fsPath);
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
