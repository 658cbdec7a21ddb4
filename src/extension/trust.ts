// Running a model executes an arbitrary ONNX graph; in an untrusted workspace FaCT says so and does nothing.
import * as vscode from 'vscode';

export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(`FaCT does not run models in an untrusted workspace, so it cannot ${action}. Trust this workspace to use FaCT.`);
  return false;
}
