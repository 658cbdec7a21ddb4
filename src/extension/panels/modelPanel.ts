// The webview panel that shows one model. One panel per model file; opening the same model again reveals it.
// Panels are restored after a window reload from the state the webview saved (the model's path).
import * as vscode from 'vscode';
import { validate } from '../../../webview/shared/schema';
import { webviewMessageSchema, type HostMessage } from '../../../webview/shared/protocol';
import { core } from '../coreClient';
import { log } from '../log';
import { toModelView } from './modelView';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const MODEL_PANEL_VIEW_TYPE = 'fact.model';

export class ModelPanel {
  private static readonly open = new Map<string, ModelPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  /** The latest message; resent whenever the webview (re)loads, e.g. after being hidden and shown again. */
  private current: HostMessage | undefined;

  static show(extensionUri: vscode.Uri, file: string): ModelPanel {
    const existing = ModelPanel.open.get(file);
    if (existing) {
      existing.panel.reveal(vscode.ViewColumn.Beside);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(MODEL_PANEL_VIEW_TYPE, titleFor(file), vscode.ViewColumn.Beside, webviewOptions(extensionUri));
    return new ModelPanel(panel, extensionUri, file);
  }

  /** Re-attaches to a panel VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, file: string): ModelPanel {
    panel.webview.options = webviewOptions(extensionUri);
    return new ModelPanel(panel, extensionUri, file);
  }

  private constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, readonly file: string) {
    ModelPanel.open.set(file, this);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'fact.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'model', titleFor(file));
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((m) => this.onMessage(m), null, this.disposables);
    void this.load();
  }

  private post(m: HostMessage): void {
    this.current = m;
    if (this.ready) void this.panel.webview.postMessage(m);
  }

  private async load(): Promise<void> {
    this.post({ type: 'loading', file: this.file });
    try {
      const r = await core().call('inspect', { model: this.file });
      this.post({ type: 'model', model: toModelView(r) });
      log().info(`Opened model ${this.file}: ${r.layers.length} candidate layers.`);
    } catch (e) {
      const message = (e as Error).message;
      log().error(`Open model ${this.file}: ${message}`);
      this.post({ type: 'error', message });
    }
  }

  private onMessage(raw: unknown): void {
    const v = validate(webviewMessageSchema, raw);
    if (!v.ok) {
      log().warn(`Model panel sent an invalid message (${v.error}); ignored.`);
      return;
    }
    const m = v.value;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        if (this.current) void this.panel.webview.postMessage(this.current);
        break;
      case 'copyText':
        void vscode.env.clipboard.writeText(m.text).then(() => vscode.window.setStatusBarMessage('FaCT: copied', 2000));
        break;
      case 'revealModel':
        void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(this.file));
        break;
      case 'reload':
        void this.load();
        break;
      case 'log':
        log().appendLine(`[webview ${m.level ?? 'info'}] ${m.message}`);
        break;
    }
  }

  private dispose(): void {
    ModelPanel.open.delete(this.file);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function titleFor(file: string): string {
  const parts = file.split(/[\\/]/);
  return `Model: ${parts.slice(-2).join('/')}`;
}
