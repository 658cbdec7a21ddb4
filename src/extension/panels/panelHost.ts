// The base of every FaCT webview panel:
//   - creation beside the active editor, the strict-CSP HTML shell (webviewHtml.ts) and localResourceRoots;
//   - a ready handshake: nothing is posted before the page says `ready`; the latest message of each "slot" (the
//     panel's content, its job list…) is kept and resent whenever the page (re)loads — a webview without
//     retainContextWhenHidden reloads each time it is shown again;
//   - validated messages both ways (webview/shared/protocol.ts); an invalid one is logged and dropped;
//   - restore after a window reload through a serializer that validates the state the page saved;
//   - a page that never says `ready` (a VS Code webview that lost its service-worker race stays blank forever) is
//     opened again in a new webview, in the same place, with the same retained state (pageLoadWatch.ts);
//   - disposal of everything the panel registered.
// Subclasses handle their own messages and decide what to post.
import * as vscode from 'vscode';
import { validate, type Infer, type Schema } from '../../../webview/shared/schema';
import { commonWebviewMessageSchema, type JobsMessage, type JobView } from '../../../webview/shared/protocol';
import type { JobInfo } from '../jobs/jobRunner';
import { log } from '../log';
import type { Fact } from '../services';
import { PageLoadWatch } from './pageLoadWatch';
import { webviewHtml, webviewOptions } from './webviewHtml';

export interface PanelKind<H extends { type: string }, W extends { type: string }, S> {
  /** The webview panel's viewType (also the serializer's). */
  viewType: string;
  /** The webview bundle dist/webview/<entry>.js, whose root element is <fact-<entry>-panel>. */
  entry: string;
  hostMessages: Schema<H>;
  webviewMessages: Schema<W>;
  state: Schema<S>;
}

/** FaCT panels open beside the editor, in one column: the column of the FaCT panel used last, while one is open. */
const openPanels = new Set<{ readonly panel: vscode.WebviewPanel }>();
let factColumn: vscode.ViewColumn | undefined;

export function createPanel(
  extensionUri: vscode.Uri,
  viewType: string,
  title: string,
  opts: { preserveFocus?: boolean } = {},
): vscode.WebviewPanel {
  const column =
    openPanels.size && factColumn !== undefined && [...openPanels].some((p) => p.panel.viewColumn === factColumn)
      ? factColumn
      : vscode.ViewColumn.Beside;
  return vscode.window.createWebviewPanel(
    viewType,
    title,
    { viewColumn: column, preserveFocus: opts.preserveFocus ?? false },
    webviewOptions(extensionUri),
  );
}

export abstract class PanelHost<H extends { type: string }, W extends { type: string }, S> implements vscode.Disposable {
  private ready = false;
  private disposed = false;
  /** The webview panel now showing this host; a new one replaces it when its page never loads. */
  #panel: vscode.WebviewPanel;
  /** What this host registered on the current webview panel (released when it is replaced). */
  private panelDisposables: vscode.Disposable[] = [];
  private readonly pageLoad: PageLoadWatch;
  /** The latest message per slot, resent in order when the page (re)loads. */
  private readonly retained = new Map<string, H | JobsMessage>();
  protected readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;
  /** How many times the page said `ready` (1 + the number of reloads). */
  loads = 0;
  /** How many times the panel was opened again in a new webview because its page never loaded. */
  reopened = 0;

  protected constructor(
    panel: vscode.WebviewPanel,
    protected readonly fact: Fact,
    protected readonly kind: PanelKind<H, W, S>,
    title: string,
  ) {
    this.pageLoad = new PageLoadWatch({
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      reopen: (attempt) => {
        log().warn(`${kind.viewType}: the page did not load; opening the panel again in a new webview (attempt ${attempt}).`);
        this.openInNewWebview();
      },
      giveUp: (attempts) => {
        log().error(`${kind.viewType}: the page did not load in ${attempts + 1} webviews.`);
        void this.fact.ui
          .error(
            `FaCT: the panel "${this.#panel.title}" did not load (a VS Code webview problem). Reloading the window recovers it.`,
            'Reload Window',
          )
          .then((a) => (a ? vscode.commands.executeCommand('workbench.action.reloadWindow') : undefined));
      },
    });
    this.#panel = panel;
    panel.title = title;
    this.attachPanel(panel);
    openPanels.add(this);
  }

  get panel(): vscode.WebviewPanel {
    return this.#panel;
  }

  /** Shows this host in `panel`: its options, icon and HTML shell, and the listeners that feed the host. */
  private attachPanel(panel: vscode.WebviewPanel): void {
    this.#panel = panel;
    this.ready = false;
    // Set again here: a revived panel comes with whatever options it had, and the extension may have moved.
    panel.webview.options = webviewOptions(this.fact.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(this.fact.extensionUri, 'media', 'fact.svg');
    panel.webview.html = webviewHtml(panel.webview, this.fact.extensionUri, this.kind.entry, panel.title);
    let visible = panel.visible;
    this.panelDisposables = [
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      // A hidden page is gone (no retainContextWhenHidden); wait for its next `ready` before posting again.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) {
          this.ready = false;
          this.pageLoad.idle();
        } else if (!visible && !this.ready) this.pageLoad.loading();
        visible = panel.visible;
        if (panel.active && panel.viewColumn !== undefined) factColumn = panel.viewColumn;
      }),
    ];
    if (panel.viewColumn !== undefined) factColumn = panel.viewColumn;
    if (visible) this.pageLoad.loading();
  }

  /**
   * Replaces the webview panel by a new one in the same column, with the same title and retained state (the new page
   * says `ready` and gets it). The page-load watch calls this; public so that a test can exercise the replacement.
   */
  openInNewWebview(): void {
    if (this.disposed) return;
    const old = this.#panel;
    const fresh = vscode.window.createWebviewPanel(
      this.kind.viewType,
      old.title,
      { viewColumn: old.viewColumn ?? vscode.ViewColumn.Beside, preserveFocus: !old.active },
      webviewOptions(this.fact.extensionUri),
    );
    // The new panel opens before the old one closes, so a group holding only the old one stays where it is.
    for (const d of this.panelDisposables.splice(0)) d.dispose();
    old.dispose();
    this.reopened++;
    this.attachPanel(fresh);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The page has said `ready` and is showing: what is posted now reaches it (tests wait on this). */
  get pageReady(): boolean {
    return this.ready && !this.disposed;
  }

  /**
   * Posts `m` and keeps it as the slot's current state (default slot: 'main'); `retain: false` posts it once.
   * `replay`: what a reloaded page gets for the slot instead of `m` (when `m` is a change, `replay` the whole state).
   */
  protected post(m: H, opts: { retain?: string | false; replay?: H } = {}): void {
    this.sendChecked(m, opts);
  }

  /** `post`, for the messages the base itself sends to every panel (the jobs list), checked by the same schema. */
  private sendChecked(m: H | JobsMessage, opts: { retain?: string | false; replay?: H | JobsMessage } = {}): void {
    if (this.disposed) return;
    for (const x of opts.replay ? [m, opts.replay] : [m]) {
      const v = validate(this.kind.hostMessages, x);
      if (!v.ok) {
        log().error(`${this.kind.viewType}: not sending an invalid message (${v.error}).`);
        return;
      }
    }
    const slot = opts.retain ?? 'main';
    if (slot !== false) this.retained.set(slot, opts.replay ?? m);
    if (this.ready) {
      this.record(m);
      void this.panel.webview.postMessage(m);
    }
  }

  /** What was posted to the page lately (type and the number of data: URIs it carried), for tests; bounded. */
  readonly postLog: { type: string; dataUris: number }[] = [];

  private record(m: H | JobsMessage): void {
    if (this.postLog.length >= 1000) this.postLog.splice(0, 500);
    this.postLog.push({ type: m.type, dataUris: countDataUris(m) });
  }

  /** Marks a point in the post log (`mark:<label>`), e.g. where a new explanation starts, whether or not the page is ready. */
  protected markPostLog(label: string): void {
    this.postLog.push({ type: `mark:${label}`, dataUris: 0 });
  }

  /** Keeps the panel's job list in step with the runner, showing the jobs `filter` accepts. */
  protected trackJobs(filter: (job: JobInfo) => boolean): void {
    const send = () => {
      const jobs: JobView[] = this.fact.jobs
        .list()
        .filter(filter)
        .map((j) => ({
          id: j.id,
          kind: j.kind,
          target: j.target,
          title: j.title,
          message: j.message,
          fraction: j.fraction ?? null,
          startedAt: j.startedAt,
        }));
      this.sendChecked({ type: 'jobs', jobs }, { retain: 'jobs' });
    };
    this.disposables.push(
      this.fact.jobs.onDidChange((j) => {
        if (filter(j)) send();
      }),
    );
    send();
  }

  reveal(): void {
    this.panel.reveal(this.panel.viewColumn ?? vscode.ViewColumn.Beside, false);
  }

  private receive(raw: unknown): void {
    const v = validate(this.kind.webviewMessages, raw);
    if (!v.ok) {
      log().warn(`${this.kind.viewType}: the page sent an invalid message (${v.error}); ignored.`);
      return;
    }
    const msg = v.value;
    // Every panel's schema includes the common messages; those are the base's to handle.
    const common = validate(commonWebviewMessageSchema, raw);
    if (common.ok) this.receiveCommon(common.value);
    else {
      Promise.resolve(this.onMessage(msg)).catch((e: Error) => {
        log().error(`${this.kind.viewType}: handling '${msg.type}' failed: ${e.stack ?? e.message}`);
        void this.fact.ui.error(`FaCT: ${e.message}`);
      });
    }
  }

  private receiveCommon(m: Infer<typeof commonWebviewMessageSchema>): void {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.loads++;
        this.pageLoad.ready();
        for (const r of this.retained.values()) {
          this.record(r);
          void this.panel.webview.postMessage(r);
        }
        this.onReady();
        return;
      case 'log':
        log().appendLine(`[${this.kind.entry} page, ${m.level ?? 'info'}] ${m.message}`);
        return;
      case 'copyText':
        void vscode.env.clipboard.writeText(m.text).then(() => vscode.window.setStatusBarMessage('FaCT: copied', 2000));
        return;
      case 'cancelJob':
        this.fact.jobs.cancel(m.id);
        return;
    }
  }

  /** The page (re)loaded and has been sent the retained state. */
  protected onReady(): void {}

  protected abstract onMessage(m: W): void | Promise<void>;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pageLoad.idle();
    openPanels.delete(this);
    for (const d of this.panelDisposables.splice(0)) d.dispose();
    this.#panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}

/** Open panels by key (a model file, an image…): reveal instead of opening a second one. */
export class PanelRegistry<P extends PanelHost<{ type: string }, { type: string }, unknown>> {
  private readonly panels = new Map<string, P>();

  get(key: string): P | undefined {
    return this.panels.get(key);
  }

  add(key: string, panel: P): P {
    this.panels.set(key, panel);
    panel.onDidDispose(() => {
      if (this.panels.get(key) === panel) this.panels.delete(key);
    });
    return panel;
  }

  all(): P[] {
    return [...this.panels.values()];
  }
}

/**
 * Restores panels of `kind` after a window reload: VS Code hands back the panel and the state its page saved
 * (vscode.setState), which must pass the kind's state schema. Untrusted workspaces get no restored panels.
 * Register it with vscode.window.registerWebviewPanelSerializer(kind.viewType, …) at activation (and list
 * `onWebviewPanel:<viewType>` in the activation events).
 */
export function panelSerializer<S>(
  kind: PanelKind<{ type: string }, { type: string }, S>,
  fact: Fact,
  revive: (panel: vscode.WebviewPanel, state: S) => void,
): vscode.WebviewPanelSerializer<unknown> {
  return {
    async deserializeWebviewPanel(panel, state: unknown) {
      const v = validate(kind.state, state, 'state');
      if (!v.ok) {
        log().warn(
          `Not restoring a ${kind.viewType} panel: ${v.error} (got ${state === null ? 'null' : typeof state}${typeof state === 'string' ? ` ${state.slice(0, 80)}` : ''}).`,
        );
        panel.dispose();
        return;
      }
      if (!fact.ui.isTrusted()) {
        log().info(`Not restoring a ${kind.viewType} panel in an untrusted workspace.`);
        panel.dispose();
        return;
      }
      revive(panel, v.value);
    },
  };
}

function countDataUris(v: unknown): number {
  if (typeof v === 'string') return v.startsWith('data:') ? 1 : 0;
  if (Array.isArray(v)) return v.reduce((a: number, x) => a + countDataUris(x), 0);
  if (v && typeof v === 'object') return Object.values(v).reduce((a: number, x) => a + countDataUris(x), 0);
  return 0;
}
