// Running a model executes an arbitrary ONNX graph; in an untrusted workspace (Restricted Mode) FaCT runs no model,
// and every command that would says so, naming what it cannot do.
import type { Ui } from './ui';

export const MANAGE_TRUST = 'Manage Workspace Trust';

export function untrustedMessage(action: string): string {
  return `FaCT does not run models in an untrusted workspace (Restricted Mode), so it cannot ${action}. Trust this workspace to use FaCT.`;
}

/** True when models may run; otherwise tells the person why nothing happens. */
export function requireTrust(ui: Ui, action: string): boolean {
  if (ui.isTrusted()) return true;
  void ui.warn(untrustedMessage(action), {}, MANAGE_TRUST).then((a) => {
    if (a === MANAGE_TRUST) void ui.executeCommand('workbench.trust.manage');
  });
  return false;
}
