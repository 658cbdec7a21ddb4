// One core worker thread for the extension, configured from the settings and restarted when they change.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CoreWorker } from '../core/jobs/workerClient';
import type { RequestedProvider } from '../core/onnx/session';
import { noteRanOn } from './ranOn';
import { extensionCacheRoot, HOW_TO_CHANGE_CACHE } from './models';

let worker: CoreWorker | undefined;
/** The extension's global storage folder, known once the lifecycle is registered at activation. */
let globalStoragePath: string | undefined;

export function core(): CoreWorker {
  if (!worker) {
    const cfg = vscode.workspace.getConfiguration('fact');
    const threads = cfg.get<number>('threads', 0);
    const cudaLibraryPath = cfg.get<string>('cudaLibraryPath', '');
    worker = new CoreWorker(
      {
        executionProvider: cfg.get<RequestedProvider>('executionProvider', 'auto'),
        ...(threads > 0 ? { threads } : {}),
        ...(cudaLibraryPath ? { cudaLibraryPath } : {}),
        // Derived files of SAE checkpoints (evaluation, atlas, C²) go here, never into a checkpoint folder.
        // Explanation graphs are kept there too, so a reloaded window explains its first image without rebuilding them.
        ...(globalStoragePath
          ? {
              cacheRoot: extensionCacheRoot(globalStoragePath, cfg.get<string>('cacheFolder', '')),
              howToChangeCache: HOW_TO_CHANGE_CACHE,
              cacheGraphs: true,
            }
          : {}),
      },
      // The bundle sits in dist/ next to worker.js.
      { file: path.join(__dirname, 'worker.js') },
    );
    worker.onRanOn = noteRanOn;
  }
  return worker;
}

export function registerCoreLifecycle(context: vscode.ExtensionContext): void {
  globalStoragePath = context.globalStorageUri.fsPath;
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (
        e.affectsConfiguration('fact.executionProvider') ||
        e.affectsConfiguration('fact.threads') ||
        e.affectsConfiguration('fact.cudaLibraryPath') ||
        e.affectsConfiguration('fact.cacheFolder')
      ) {
        noteRanOn(undefined);
        void disposeCore();
      }
    }),
    { dispose: () => void disposeCore() },
  );
}

async function disposeCore(): Promise<void> {
  const w = worker;
  worker = undefined;
  await w?.dispose();
}
