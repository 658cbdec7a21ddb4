// The panel that shows one model (FaCT: Open Model): inputs, outputs, candidate SAE layers, op counts, and the
// jobs running on the model. One panel per model file; opening the same model again reveals it.
import * as vscode from 'vscode';
import { revealPath } from '../reveal';
import {
  modelHostMessageSchema,
  modelPanelStateSchema,
  modelWebviewMessageSchema,
  type ModelHostMessage,
  type ModelPanelState,
  type ModelWebviewMessage,
} from '../../../webview/shared/protocol';
import { log } from '../log';
import type { Fact } from '../services';
import { toModelView } from './modelView';
import { createPanel, PanelHost, PanelRegistry, type PanelKind } from './panelHost';

export const MODEL_PANEL_VIEW_TYPE = 'fact.model';

export const modelPanelKind: PanelKind<ModelHostMessage, ModelWebviewMessage, ModelPanelState> = {
  viewType: MODEL_PANEL_VIEW_TYPE,
  entry: 'model',
  hostMessages: modelHostMessageSchema,
  webviewMessages: modelWebviewMessageSchema,
  state: modelPanelStateSchema,
};

export class ModelPanel extends PanelHost<ModelHostMessage, ModelWebviewMessage, ModelPanelState> {
  static readonly open = new PanelRegistry<ModelPanel>();

  static show(fact: Fact, file: string): ModelPanel {
    const existing = ModelPanel.open.get(file);
    if (existing) {
      existing.reveal();
      return existing;
    }
    return new ModelPanel(createPanel(fact.extensionUri, MODEL_PANEL_VIEW_TYPE, titleFor(file)), fact, file);
  }

  /** Re-attaches to a panel VS Code restored after a reload. */
  static revive(fact: Fact, panel: vscode.WebviewPanel, state: ModelPanelState): ModelPanel {
    return new ModelPanel(panel, fact, state.file);
  }

  private constructor(
    panel: vscode.WebviewPanel,
    fact: Fact,
    readonly file: string,
  ) {
    super(panel, fact, modelPanelKind, titleFor(file));
    ModelPanel.open.add(file, this);
    this.trackJobs((j) => j.target === file || j.target.startsWith(`${file}#`));
    void this.load();
  }

  private async load(): Promise<void> {
    this.post({ type: 'loading', file: this.file });
    try {
      const r = await this.fact.core().call('inspect', { model: this.file });
      this.post({ type: 'model', model: toModelView(r) });
      log().info(`Opened model ${this.file}: ${r.layers.length} candidate layers.`);
    } catch (e) {
      const message = (e as Error).message;
      log().error(`Open model ${this.file}: ${message}`);
      this.post({ type: 'error', message });
    }
  }

  protected override onMessage(m: ModelWebviewMessage): void {
    switch (m.type) {
      case 'revealModel':
        void revealPath(this.file);
        break;
      case 'reload':
        void this.load();
        break;
      case 'collectFeatures':
        void this.fact.ui.executeCommand('fact.collectFeatures', { model: this.file, layer: m.layer });
        break;
      case 'explainImage':
        void this.fact.ui.executeCommand('fact.explainImageWithModel', vscode.Uri.file(this.file));
        break;
    }
  }
}

function titleFor(file: string): string {
  const parts = file.split(/[\\/]/);
  return `Model: ${parts.slice(-2).join('/')}`;
}
