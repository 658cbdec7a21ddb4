// Where a model's files live and where FaCT writes what it makes for it (features, SAEs). A model in the workspace
// keeps its outputs beside it (`<model dir>/features/<layer>/`, `<model dir>/saes/<layer>/…`); the embedded default
// model lives inside the extension's install folder, which is read-only in spirit (replaced on every update), so its
// outputs go to `<workspace>/.fact/<model name>/` (or to the extension's global storage without a workspace).
// No `vscode` import: every rule here can be tested on its own.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

export interface ModelEnv {
  /** The extension's install folder. */
  extensionPath: string;
  /** The first workspace folder, if any. */
  workspaceFolder?: string;
  /** The extension's global storage folder (used without a workspace). */
  globalStoragePath: string;
  /** Where derived files of SAE checkpoints (evaluation, atlas, C²) are cached (src/core/sae/saeFolder.ts). */
  cacheRoot: string;
}

export const HOW_TO_CHANGE_CACHE = 'Choose another folder with the setting "fact.cacheFolder".';

/** The setting `fact.cacheFolder` when set, else `cache/` in the extension's global storage (never its install folder). */
export function extensionCacheRoot(globalStoragePath: string, setting: string | undefined): string {
  return setting && setting.trim() ? path.resolve(setting.trim()) : path.join(globalStoragePath, 'cache');
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
  classes?: string[];
  /** The foundation model the card names for C² (absolute path), when the file exists. */
  foundation?: string;
}

export function readCardSummary(model: string): CardSummary | undefined {
  const file = path.join(path.dirname(model), 'card.json');
  if (!existsSync(file)) return undefined;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const layers = Array.isArray(c.layers)
      ? c.layers.map((l) => (l as { name?: unknown })?.name).filter((n): n is string => typeof n === 'string')
      : [];
    const splits: Record<string, number> = {};
    if (c.data && typeof c.data === 'object') {
      for (const [k, v] of Object.entries(c.data as Record<string, unknown>))
        splits[k] = typeof (v as { count?: unknown })?.count === 'number' ? (v as { count: number }).count : 0;
    }
    const samples = path.join(path.dirname(model), 'samples');
    const classes = Array.isArray(c.classes) && c.classes.every((x) => typeof x === 'string') ? (c.classes as string[]) : undefined;
    const foundation = typeof c.foundation === 'string' ? path.resolve(path.dirname(model), c.foundation) : undefined;
    return {
      ...(typeof c.name === 'string' ? { name: c.name } : {}),
      ...(typeof c.displayName === 'string' ? { displayName: c.displayName } : {}),
      layers,
      splits,
      ...(existsSync(samples) ? { samples } : {}),
      ...(classes ? { classes } : {}),
      ...(foundation && existsSync(foundation) ? { foundation } : {}),
    };
  } catch {
    return undefined;
  }
}

/** A short, human name for a model: the card's display name, else `<folder>/<file>`. */
export function modelDisplayName(model: string, card = readCardSummary(model)): string {
  return card?.displayName ?? card?.name ?? model.split(/[\\/]/).slice(-2).join('/');
}

/**
 * True for a foundation (feature-extractor) model rather than a model to explain: a file below a `foundation/`
 * folder (inside `root`, when given), or an .onnx beside a same-named .json spec with `size`, `mean` and `std` (the
 * form models/recipes/export_foundation.py writes). Such models are used for C², never listed as models.
 */
export function isFeatureExtractor(file: string, root?: string): boolean {
  const rel = root && isInside(file, root) ? path.relative(root, file) : file;
  const dirs = path.dirname(rel).split(/[\\/]/);
  if (dirs.includes('foundation')) return true;
  const spec = file.replace(/\.onnx$/i, '.json');
  if (spec === file || !existsSync(spec)) return false;
  try {
    const j = JSON.parse(readFileSync(spec, 'utf8')) as Record<string, unknown>;
    return j !== null && typeof j === 'object' && 'size' in j && 'mean' in j && 'std' in j;
  } catch {
    return false;
  }
}

/** Foundation models found beside a model (`<model dir>/foundation/*.onnx`), for C² when its card names none. */
export function foundationCandidates(model: string): string[] {
  const dir = path.join(path.dirname(model), 'foundation');
  try {
    return readdirSync(dir)
      .filter((f) => f.toLowerCase().endsWith('.onnx'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}
