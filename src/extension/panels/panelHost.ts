// The base of every FaCT webview panel:
//   - creation beside the active editor, the strict-CSP HTML shell (webviewHtml.ts) and localResourceRoots;
//   - a ready handshake: nothing is posted before the page says `ready`; the latest message of each "slot" (the
//     panel's content, its job list…) is kept and resent whenever the page (re)loads — a webview without
//     retainContextWhenHidden reloads each time it is shown again;
//   - validated messages both ways (webview/shared/protocol.ts); an invalid one is logged and dropped;
//   - restore after a window reload through a serializer that validates the state the page saved;
//   - disposal of everything the panel registered.
// Subclasses handle their own messages and decide what to post.
import * as vscode from 'vscode';
import { validate, type Infer, type Schema } from '../../../webview/shared/schema';
import { commonWebviewMessageSchema, type JobsMessage, type JobView } from '../../../webview/shared/protocol';
import type { JobInfo } from '../jobs/jobRunner';
import { log } from '../log';
import type { Fact } from '../services';
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
  /** The latest message per slot, resent in order when the page (re)loads. */
  private readonly retained = new Map<string, H | JobsMessage>();
  protected readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;
  /** How many times the page said `ready` (1 + the number of reloads). */
  loads = 0;

  protected constructor(
    readonly panel: vscode.WebviewPanel,
    protected readonly fact: Fact,
    protected readonly kind: PanelKind<H, W, S>,
    title: string,
  ) {
    // Set again here: a revived panel comes with whatever options it had, and the extension may have moved.
    panel.webview.options = webviewOptions(fact.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(fact.extensionUri, 'media', 'fact.svg');
    panel.title = title;
    panel.webview.html = webviewHtml(panel.webview, fact.extensionUri, kind.entry, title);
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m), null, this.disposables);
    // A hidden page is gone (no retainContextWhenHidden); wait for its next `ready` before posting again.
    panel.onDidChangeViewState(
      () => {
        if (!panel.visible) this.ready = false;
        if (panel.active && panel.viewColumn !== undefined) factColumn = panel.viewColumn;
      },
      null,
      this.disposables,
    );
    openPanels.add(this);
    if (panel.viewColumn !== undefined) factColumn = panel.viewColumn;
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
    openPanels.delete(this);
    this.panel.dispose();
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
