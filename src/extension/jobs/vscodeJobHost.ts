// The editor side of the job runner: a cancellable progress notification per job, the "FaCT" log, and warnings.
import * as vscode from 'vscode';
import { log } from '../log';
import type { Ui } from '../ui';
import type { JobHost } from './jobRunner';

export function vscodeJobHost(ui: Ui): JobHost {
  return {
    withProgress(title, task) {
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `FaCT: ${title}`, cancellable: true },
        async (progress, token) => {
          let shown = 0;
          await task(
            (message, fraction) => {
              // VS Code's progress takes increments; turn the absolute fraction into one.
              const pct = fraction === undefined ? shown : Math.round(fraction * 100);
              progress.report({ message, ...(pct > shown ? { increment: pct - shown } : {}) });
              shown = Math.max(shown, pct);
            },
            (cancel) => {
              token.onCancellationRequested(cancel);
            },
          );
        },
      );
    },
    log: {
      info: (line) => log().info(line),
      warn: (line) => log().warn(line),
      error: (line) => log().error(line),
    },
    refuse(message) {
      void ui.warn(message, {}, 'Show Log', 'Cancel Job').then((a) => {
        if (a === 'Show Log') log().show(true);
        if (a === 'Cancel Job') void vscode.commands.executeCommand('fact.cancelJob');
      });
    },
  };
}
