// FaCT for VS Code: activation wires commands, panels and the core worker together. Nothing heavy happens here.
import * as vscode from 'vscode';
import type { ModelInspection } from '../core/model/inspectModel';
import { modelPanelStateSchema } from '../../webview/shared/protocol';
import { validate } from '../../webview/shared/schema';
import { openModelCommand } from './commands/openModel';
import { core, registerCoreLifecycle } from './coreClient';
import { log } from './log';
import { MODEL_PANEL_VIEW_TYPE, ModelPanel } from './panels/modelPanel';

export interface FactApi {
  openModel(uri?: vscode.Uri): ReturnType<typeof openModelCommand>;
  inspect(file: string): Promise<ModelInspection>;
}

export function activate(context: vscode.ExtensionContext): FactApi {
  registerCoreLifecycle(context);
  context.subscriptions.push(
    vscode.commands.registerCommand('fact.openModel', (uri?: vscode.Uri) => openModelCommand(context, uri)),
    vscode.window.registerWebviewPanelSerializer(MODEL_PANEL_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state) {
        const v = validate(modelPanelStateSchema, state, 'state');
        if (!v.ok || !vscode.workspace.isTrusted) {
          panel.dispose();
          return;
        }
        ModelPanel.revive(panel, context.extensionUri, v.value.file);
      },
    }),
  );
  log().info(`FaCT activated (node ${process.version}, VS Code ${vscode.version}).`);
  // Returned for tests and for other extensions: the same entry points the commands use.
  return {
    openModel: (uri) => openModelCommand(context, uri),
    inspect: (file) => core().call('inspect', { model: file }),
  };
}

export function deactivate(): void {}
