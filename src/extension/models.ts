// Where a model's files live and where FaCT writes what it makes for it (features, SAEs). A model in the workspace
// keeps its outputs beside it (`<model dir>/features/<layer>/`, `<model dir>/saes/<layer>/…`); the embedded default
// model lives inside the extension's install folder, which is read-only in spirit (replaced on every update), so its
// outputs go to `<workspace>/.fact/<model name>/` (or to the extension's global storage without a workspace).
// No `vscode` import: every rule here can be tested on its own.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface ModelEnv {
  /** The extension's install folder. */
  extensionPath: string;
  /** The first workspace folder, if any. */
  workspaceFolder?: string;
  /** The extension's global storage folder (used without a workspace). */
  globalStoragePath: string;
}

export const EMBEDDED_MODEL_DIR = path.join('models', 'fashion-mnist-bcos');

export function embeddedDefaultModel(extensionPath: string): string | undefined {
  const file = path.join(extensionPath, EMBEDDED_MODEL_DIR, 'model.onnx');
  return existsSync(file) ? file : undefined;
}

export function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** True for a model that ships inside the extension. */
export function isEmbedded(model: string, env: Pick<ModelEnv, 'extensionPath'>): boolean {
  return isInside(model, path.join(env.extensionPath, 'models'));
}

/** The folder FaCT writes a model's features and SAEs into. */
export function modelWorkDir(model: string, env: ModelEnv): string {
  if (!isEmbedded(model, env)) return path.dirname(model);
  const name = path.basename(path.dirname(model));
  return env.workspaceFolder ? path.join(env.workspaceFolder, '.fact', name) : path.join(env.globalStoragePath, 'models', name);
}

/** A layer label as a folder name ('features.norm5' stays; '/a/b:0' becomes '_a_b_0'). */
export function layerFolder(layer: string): string {
  return layer.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || '_';
}

export function defaultFeaturesDir(model: string, layer: string, env: ModelEnv): string {
  return path.join(modelWorkDir(model, env), 'features', layerFolder(layer));
}

/** Folders that may hold SAE checkpoints of a layer: beside the model, and the work folder when that differs. */
export function saeDirs(model: string, layer: string, env: ModelEnv): string[] {
  const dirs = [path.join(path.dirname(model), 'saes', layerFolder(layer))];
  const work = path.join(modelWorkDir(model, env), 'saes', layerFolder(layer));
  if (!dirs.includes(work)) dirs.push(work);
  return dirs;
}

/** The few card fields the editor shows before any model is opened (tolerant: a broken card reads as none). */
export interface CardSummary {
  name?: string;
  displayName?: string;
  layers: string[];
  splits: Record<string, number>;
  samples?: string;
}

export function readCardSummary(model: string): CardSummary | undefined {
  const file = path.join(path.dirname(model), 'card.json');
  if (!existsSync(file)) return undefined;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const layers = Array.isArray(c.layers) ? c.layers.map((l) => (l as { name?: unknown })?.name).filter((n): n is string => typeof n === 'string') : [];
    const splits: Record<string, number> = {};
    if (c.data && typeof c.data === 'object') {
      for (const [k, v] of Object.entries(c.data as Record<string, unknown>)) splits[k] = typeof (v as { count?: unknown })?.count === 'number' ? (v as { count: number }).count : 0;
    }
    const samples = path.join(path.dirname(model), 'samples');
    return {
      ...(typeof c.name === 'string' ? { name: c.name } : {}),
      ...(typeof c.displayName === 'string' ? { displayName: c.displayName } : {}),
      layers,
      splits,
      ...(existsSync(samples) ? { samples } : {}),
    };
  } catch {
    return undefined;
  }
}

/** A short, human name for a model: the card's display name, else `<folder>/<file>`. */
export function modelDisplayName(model: string, card = readCardSummary(model)): string {
  return card?.displayName ?? card?.name ?? model.split(/[\\/]/).slice(-2).join('/');
}
