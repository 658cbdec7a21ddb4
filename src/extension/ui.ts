// Thin wrappers around the `vscode` calls that command logic makes (dialogs, pickers, messages, workspace state),
// gathered behind one interface so a test can hand a command a scripted UI instead of a person.
import * as vscode from 'vscode';

export interface PickItem<T> extends vscode.QuickPickItem {
  value?: T;
}

export interface Ui {
  quickPick<T>(items: PickItem<T>[] | Promise<PickItem<T>[]>, options: vscode.QuickPickOptions): Promise<PickItem<T> | undefined>;
  openDialog(options: vscode.OpenDialogOptions): Promise<vscode.Uri[] | undefined>;
  saveDialog(options: vscode.SaveDialogOptions): Promise<vscode.Uri | undefined>;
  inputBox(options: vscode.InputBoxOptions): Promise<string | undefined>;
  info(message: string, ...actions: string[]): Promise<string | undefined>;
  warn(message: string, options: { modal?: boolean; detail?: string }, ...actions: string[]): Promise<string | undefined>;
  error(message: string, ...actions: string[]): Promise<string | undefined>;
  isTrusted(): boolean;
  findFiles(include: string, exclude: string, max: number): Promise<vscode.Uri[]>;
  /** The file of the image open in the active editor tab (VS Code's image preview is a custom editor). */
  activeImage(): vscode.Uri | undefined;
  executeCommand(command: string, ...args: unknown[]): Promise<unknown>;
}

const IMAGE = /\.(png|jpe?g)$/i;

export function isImagePath(p: string): boolean {
  return IMAGE.test(p);
}

export const vscodeUi: Ui = {
  quickPick: async (items, options) => vscode.window.showQuickPick(items, options),
  openDialog: async (options) => vscode.window.showOpenDialog(options),
  saveDialog: async (options) => vscode.window.showSaveDialog(options),
  inputBox: async (options) => vscode.window.showInputBox(options),
  info: async (message, ...actions) => vscode.window.showInformationMessage(message, ...actions),
  warn: async (message, options, ...actions) => vscode.window.showWarningMessage(message, options, ...actions),
  error: async (message, ...actions) => vscode.window.showErrorMessage(message, ...actions),
  isTrusted: () => vscode.workspace.isTrusted,
  findFiles: async (include, exclude, max) => vscode.workspace.findFiles(include, exclude, max),
  activeImage() {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText) {
      if (input.uri.scheme === 'file' && IMAGE.test(input.uri.fsPath)) return input.uri;
    }
    return undefined;
  },
  executeCommand: async (command, ...args) => vscode.commands.executeCommand(command, ...args),
};
