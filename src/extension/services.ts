// What every command, panel and view of the extension shares, built once at activation and passed explicitly (tests
// build their own with a scripted `ui` and an in-memory store).
import * as vscode from 'vscode';
import type { CoreWorker } from '../core/jobs/workerClient';
import type { JobRunner } from './jobs/jobRunner';
import { extensionCacheRoot, type ModelEnv } from './models';
import type { ConceptService } from './sae/conceptService';
import type { SaeIndex } from './sae/saeIndex';
import type { TrainingSessions } from './sae/trainingSessions';
import type { Choices } from './state/choices';
import type { Ui } from './ui';

export interface Fact {
  readonly extensionUri: vscode.Uri;
  readonly ui: Ui;
  readonly choices: Choices;
  readonly jobs: JobRunner;
  /** The SAE checkpoints of each model and the one it uses. */
  readonly saes: SaeIndex;
  /** Concept atlases and single concepts, computed once and shared. */
  readonly concepts: ConceptService;
  /** SAE training runs (live and from their logs), for the training panel. */
  readonly training: TrainingSessions;
  core(): CoreWorker;
  /** Locations for models/outputs, read afresh (workspace folders can change). */
  env(): ModelEnv;
  /** Milliseconds since the extension host started, for timing command → painted. */
  now(): number;
  /** The Cluster jobs of the FaCT view (set once the view exists): read the queue again after a submission. */
  clusterJobs?: { poll(): void };
}

export function modelEnv(context: Pick<vscode.ExtensionContext, 'extensionUri' | 'globalStorageUri'>): () => ModelEnv {
  return () => {
    const ws = vscode.workspace.workspaceFolders?.[0]?.uri;
    return {
      extensionPath: context.extensionUri.fsPath,
      globalStoragePath: context.globalStorageUri.fsPath,
      cacheRoot: extensionCacheRoot(
        context.globalStorageUri.fsPath,
        vscode.workspace.getConfiguration('fact').get<string>('cacheFolder', ''),
      ),
      ...(ws?.scheme === 'file' ? { workspaceFolder: ws.fsPath } : {}),
    };
  };
}
