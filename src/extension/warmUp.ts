// Starting the core worker, opening the active model and preparing its explanation in the background, so that the
// first Explain of a window does not wait for the worker thread (onnxruntime, sharp), the model, and building (or
// loading from the graph cache) and first running the explanation sessions — seconds on a loaded machine, against
// ~0.1 s for a warm explanation of the default model. It happens only when this workspace has an active model (FaCT
// was used here), when the workspace is trusted, and when the setting `fact.warmUp` is on; everything runs in the
// worker thread, never on the extension host's event loop. It writes only what an Explain would: the explanation
// graphs in FaCT's own cache folder.
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { CoreWorker } from '../core/jobs/workerClient';
import { log } from './log';
import type { Fact } from './services';

export function registerWarmUp(fact: Fact, delayMs = 1500): vscode.Disposable {
  let warmedOn: CoreWorker | undefined;
  const warmed = new Set<string>();
  const warm = (reason: string) => {
    const model = fact.choices.model();
    if (!model || !fact.ui.isTrusted() || !vscode.workspace.getConfiguration('fact').get<boolean>('warmUp', true) || !existsSync(model))
      return;
    const worker = fact.core();
    if (warmedOn !== worker) {
      warmed.clear();
      warmedOn = worker;
    }
    if (warmed.has(model)) return;
    warmed.add(model);
    const t0 = Date.now();
    worker
      .call('inspect', { model })
      .then(() => worker.call('prepareExplanation', { model }))
      .then(
        (r) =>
          log().info(
            `Warmed up the worker with ${model} in ${Date.now() - t0} ms, its explanation sessions ready in ${(r.seconds * 1000).toFixed(0)} ms of that (${reason}).`,
          ),
        (e: Error) => {
          warmed.delete(model);
          log().warn(`Warming up with ${model} failed: ${e.message}`);
        },
      );
  };
  const timer = setTimeout(() => warm('a model was active when the window opened'), delayMs);
  return vscode.Disposable.from(
    { dispose: () => clearTimeout(timer) },
    fact.choices.onDidChange((what) => {
      if (what === 'model') warm('the active model changed');
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => warm('the workspace became trusted')),
  );
}
