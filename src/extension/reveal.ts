// "Reveal": shows a file or folder in the Explorer when it is inside an open workspace folder, otherwise in the
// operating system's file manager (the embedded model and the caches live outside the workspace). The one place
// every panel and command reveals from.
import * as vscode from 'vscode';
import { isInside } from './models';

export async function revealPath(file: string): Promise<void> {
  const uri = vscode.Uri.file(file);
  const inWorkspace =
    vscode.workspace.workspaceFolders?.some((f) => f.uri.scheme === 'file' && (isInside(file, f.uri.fsPath) || f.uri.fsPath === file)) ??
    false;
  await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
}
