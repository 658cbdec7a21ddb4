// The one owner of an SAE checkpoint folder and of the cache that holds what is derived from it. Every file name is
// declared here; every read and write of a derived file goes through here; here alone is decided where a file lives.
//
//   checkpoint folder   sae.safetensors + cfg.json (the SAE), train-state.* (resumable training), training-log.json
//                       (the editor's curves). Written only by training, into the folder the user named.
//   derived folder      evaluation.json + evaluation.safetensors, atlas/ (atlas.json + concepts/*.png),
//                       consistency.json + consistency.png. Written to `out` when the caller names one (`--out`),
//                       else to <cache root>/saes/<model hash>-<checkpoint hash>/: a checkpoint folder is only read
//                       (it may be read-only, e.g. inside the extension's install folder).
//   explanation graphs  <cache root>/explanation-graphs/: onnxruntime's optimised explanation graphs of models
//                       (engine/graphCache.ts), keyed by content, so the first explanation in a new process is fast.
//
// Reading looks in the derived folder first, then in the checkpoint folder itself (a checkpoint may ship its
// evaluation summary and C² report, as the default one does), and takes the first file made from these weights.
// No `vscode` import: the CLI, the worker and the extension host all use this module.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atlasStripsFolder, type Atlas, type AtlasWriter } from '../concepts/atlas';
import type { ConsistencyReport } from '../consistency/measureConsistency';
import type { DatasetSpec } from '../data/openDataset';
import { FactError, isFactError } from '../errors';
import type { EvaluationMetrics } from '../evaluate/evaluate';
import { containedPath, readContainedFile } from '../util/containedFile';
import { readFileOrThrow, removeDeadTemporaries, requireRegularFile, writeFileAtomic } from '../util/files';
import { acquireWriterLock, type WriterLock } from '../util/writerLock';

/** Files of the checkpoint itself. */
export const checkpointFiles = {
  weights: 'sae.safetensors',
  cfg: 'cfg.json',
  trainState: 'train-state.safetensors',
  trainStateJson: 'train-state.json',
  /** Written by the editor while it trains: the curves of every training run of the checkpoint. */
  trainingLog: 'training-log.json',
} as const;

/** Files derived from a checkpoint (and its model and data). */
export const derivedFiles = {
  evaluationJson: 'evaluation.json',
  evaluation: 'evaluation.safetensors',
  consistency: 'consistency.json',
  histogram: 'consistency.png',
  atlasDir: 'atlas',
  atlasJson: 'atlas.json',
  /** Names the checkpoint a cache folder belongs to, for a person browsing the cache. */
  source: 'source.json',
} as const;

// ── where ────────────────────────────────────────────────────────────────────────────────────────────────────────

/** The CLI's cache: $FACT_CACHE, else $XDG_CACHE_HOME/fact-vscode, else ~/.cache/fact-vscode. */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  if (env.FACT_CACHE) return path.resolve(env.FACT_CACHE);
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(home, '.cache');
  return path.join(xdg, 'fact-vscode');
}

/** The folder below a cache root that holds cached explanation graphs (engine/graphCache.ts owns its entries). */
export function explanationGraphsFolder(cacheRoot: string): string {
  return path.join(cacheRoot, 'explanation-graphs');
}

/** Where derived files are written, and how a person chooses another place (said when writing fails). */
export interface DerivedLocation {
  /** An explicit folder for this checkpoint's derived files (`--out`). */
  out?: string;
  /** The cache root; the checkpoint's folder below it is keyed by the hashes of model and weights. */
  cacheRoot?: string;
  /** A sentence saying how to choose another folder, e.g. "Set FACT_CACHE or pass --out DIR.". */
  howToChange?: string;
}

export interface SaeFolder {
  /** The checkpoint folder (read only, except by training). */
  dir: string;
  /** Where derived files are written. */
  out: string;
  /** sha256 of the model the SAE was trained on (cfg.json) and of its weights. */
  modelSha256: string;
  checkpointSha256: string;
  howToChange: string;
}

/** The cache folder of one checkpoint: keyed by content, so a moved or copied checkpoint finds its files again. */
export function cacheFolderOf(cacheRoot: string, modelSha256: string, checkpointSha256: string): string {
  return path.join(cacheRoot, 'saes', `${modelSha256.slice(0, 16)}-${checkpointSha256.slice(0, 16)}`);
}

/** Opens a checkpoint folder for reading and writing its derived files (reads cfg.json, hashes the weights). */
export async function openSaeFolder(dir: string, where: DerivedLocation = {}): Promise<SaeFolder> {
  const cfgFile = path.join(dir, checkpointFiles.cfg);
  if (!existsSync(cfgFile))
    throw new FactError('bad-checkpoint', `'${dir}' is not an SAE checkpoint folder: it has no ${checkpointFiles.cfg}.`, { file: dir });
  let modelSha256: unknown;
  try {
    modelSha256 = (JSON.parse((await readFileOrThrow(cfgFile, 'SAE config')).toString('utf8')) as { modelSha256?: unknown }).modelSha256;
  } catch (e) {
    throw new FactError('bad-card', `The SAE config '${cfgFile}' cannot be read: ${(e as Error).message}`, { file: cfgFile });
  }
  if (typeof modelSha256 !== 'string')
    throw new FactError('bad-card', `The SAE config '${cfgFile}' lacks "modelSha256".`, { file: cfgFile, field: 'modelSha256' });
  const checkpointSha256 = await fileSha256(path.join(dir, checkpointFiles.weights)).catch((e: NodeJS.ErrnoException) => {
    if (isFactError(e)) throw e;
    throw new FactError('file-missing', `The SAE weights '${path.join(dir, checkpointFiles.weights)}' cannot be read: ${e.message}`, {
      file: path.join(dir, checkpointFiles.weights),
    });
  });
  const out = where.out ? path.resolve(where.out) : cacheFolderOf(where.cacheRoot ?? defaultCacheRoot(), modelSha256, checkpointSha256);
  const howToChange = where.howToChange ?? (where.out ? 'Pass a writable folder.' : 'Set FACT_CACHE to another folder or pass --out DIR.');
  return { dir: path.resolve(dir), out, modelSha256, checkpointSha256, howToChange };
}

/** Folders read, in order: the derived folder, then the checkpoint folder (files shipped with the checkpoint). */
function readDirs(f: SaeFolder): string[] {
  return f.out === f.dir ? [f.dir] : [f.out, f.dir];
}

/** Which derived files exist (cheap: no parsing, no staleness check), for listings. */
export function derivedFilesPresent(f: SaeFolder): { evaluation: boolean; atlas: boolean; consistency: boolean } {
  const any = (name: string) => readDirs(f).some((d) => existsSync(path.join(d, name)));
  return {
    evaluation: any(derivedFiles.evaluationJson),
    atlas: any(path.join(derivedFiles.atlasDir, derivedFiles.atlasJson)),
    consistency: any(derivedFiles.consistency),
  };
}

/** Changes whenever a derived file of the checkpoint is written (mtimes and sizes), for caches of what was read. */
export async function derivedStamp(f: SaeFolder): Promise<string> {
  const names = [derivedFiles.evaluationJson, path.join(derivedFiles.atlasDir, derivedFiles.atlasJson), derivedFiles.consistency];
  const parts = await Promise.all(
    readDirs(f).flatMap((d) =>
      names.map(async (n) => {
        const st = await fs.stat(path.join(d, n)).catch(() => undefined);
        return st ? `${st.mtimeMs}/${st.size}` : '-';
      }),
    ),
  );
  return `${f.checkpointSha256}:${parts.join(':')}`;
}

// ── hashing ──────────────────────────────────────────────────────────────────────────────────────────────────────

const hashes = new Map<string, { mtimeMs: number; size: number; sha256: Promise<string> }>();

/** sha256 of a file, streamed (the event loop stays free), remembered while its size and mtime stay. */
export async function fileSha256(file: string): Promise<string> {
  const st = await fs.stat(file);
  // A link to a device in a shared checkpoint (sae.safetensors -> /dev/zero) would be hashed forever.
  if (!st.isFile()) throw new FactError('bad-checkpoint', `'${file}' is not a regular file (a device, a pipe or a link to one).`, { file });
  const hit = hashes.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.sha256;
  const sha256 = new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
  hashes.set(file, { mtimeMs: st.mtimeMs, size: st.size, sha256 });
  sha256.catch(() => hashes.delete(file));
  return sha256;
}

// ── the checkpoint's own cfg.json (written by training only, into the folder the user named) ───────────────────

/** Adds fields to a checkpoint's cfg.json (training records where its vectors came from and its last averages). */
export async function amendCheckpointCfg(dir: string, amend: (cfg: Record<string, unknown>) => void): Promise<void> {
  const file = path.join(dir, checkpointFiles.cfg);
  const cfg = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  amend(cfg);
  await writeFileAtomic(file, json(cfg));
}

// ── writing ──────────────────────────────────────────────────────────────────────────────────────────────────────

/** Jobs of this process writing a derived folder, by folder: they take turns (the editor may ask for one atlas twice). */
const derivedWriters = new Map<string, Promise<unknown>>();

/**
 * Runs `work`, which writes derived files, holding the derived folder's writer lock (writerLock.ts), as collection
 * and training hold theirs: a second process writing the same folder (the cache is shared by every process of the
 * user) is refused with the holder's name; a lock left by a killed job is taken over with a note. Within this
 * process, writers of one folder wait for each other instead.
 */
export async function withDerivedWriter<T>(
  f: SaeFolder,
  command: string,
  note: (message: string) => void,
  work: () => Promise<T>,
): Promise<T> {
  const previous = derivedWriters.get(f.out);
  const run = (async () => {
    if (previous) await previous.catch(() => undefined);
    let lock: WriterLock;
    try {
      lock = await acquireWriterLock(f.out, command, note);
    } catch (e) {
      throw notWritable(f, f.out, e);
    }
    try {
      return await work();
    } finally {
      await lock.release().catch(() => undefined);
    }
  })();
  derivedWriters.set(f.out, run);
  try {
    return await run;
  } finally {
    if (derivedWriters.get(f.out) === run) derivedWriters.delete(f.out);
  }
}

/** Runs a write into the derived folder; a folder that cannot be written is named with the way to choose another. */
async function writing<T>(f: SaeFolder, file: string, write: () => Promise<T>): Promise<T> {
  try {
    if (!existsSync(path.join(f.out, derivedFiles.source))) {
      await writeFileAtomic(
        path.join(f.out, derivedFiles.source),
        json({ checkpoint: f.dir, modelSha256: f.modelSha256, checkpointSha256: f.checkpointSha256 }),
      );
    }
    return await write();
  } catch (e) {
    throw notWritable(f, file, e);
  }
}

/** A failed write into the derived folder as a sentence naming the folder and how to choose another. */
function notWritable(f: SaeFolder, file: string, e: unknown): unknown {
  // writeFileAtomic and the lock have already turned the errno error into a FactError (file-system, disk-full) with `errno`.
  const code = isFactError(e) ? String((e.details as { errno?: string } | undefined)?.errno ?? '') : (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EEXIST') {
    return new FactError(
      'not-writable',
      `Cannot write the SAE's derived files to '${f.out}' (${code}: the folder is not writable). ${f.howToChange}`,
      { file, folder: f.out },
    );
  }
  if (code === 'ENOSPC')
    return new FactError('disk-full', `The disk holding '${f.out}' is full: cannot write '${file}'. ${f.howToChange}`, {
      file,
      folder: f.out,
    });
  return e;
}

/** Writes one derived file atomically. */
async function writeDerived(f: SaeFolder, name: string, data: Uint8Array | string): Promise<string> {
  const file = path.join(f.out, name);
  await writing(f, file, () => writeFileAtomic(file, data));
  return file;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

// ── evaluation: evaluation.json (summary) + evaluation.safetensors (per-image records) ───────────────────────────

export interface EvaluationSummary {
  checkpointSha256: string;
  dataset: DatasetSpec;
  datasetSource: string;
  metrics: EvaluationMetrics;
  recordsSha256: string;
  evaluatedAt: string;
}

/** Writes the records (through `save`, which writes the safetensors file) then the summary that names their hash. */
export async function writeEvaluation(
  f: SaeFolder,
  save: (file: string) => Promise<void>,
  summary: Omit<EvaluationSummary, 'recordsSha256' | 'checkpointSha256'>,
): Promise<EvaluationSummary> {
  const records = path.join(f.out, derivedFiles.evaluation);
  await writing(f, records, () => save(records));
  const full: EvaluationSummary = { checkpointSha256: f.checkpointSha256, ...summary, recordsSha256: await fileSha256(records) };
  await writeDerived(f, derivedFiles.evaluationJson, json(full));
  return full;
}

/** The evaluation summary made from these weights, and the folder it is in; undefined when there is none. */
export async function readEvaluation(f: SaeFolder): Promise<{ summary: EvaluationSummary; dir: string } | undefined> {
  for (const dir of readDirs(f)) {
    const summary = await readJsonIfPresent(path.join(dir, derivedFiles.evaluationJson), checkEvaluationSummary);
    if (summary && summary.checkpointSha256 === f.checkpointSha256) return { summary, dir };
  }
  return undefined;
}

/** The records file matching a summary read by readEvaluation, or why there is none. */
export async function evaluationRecordsFile(e: {
  summary: EvaluationSummary;
  dir: string;
}): Promise<{ file: string } | { missing: string }> {
  const file = path.join(e.dir, derivedFiles.evaluation);
  if (!existsSync(file)) return { missing: `has no per-image evaluation records (${derivedFiles.evaluation})` };
  if ((await fileSha256(file)) !== e.summary.recordsSha256)
    return { missing: 'has evaluation records that do not match its evaluation summary' };
  return { file };
}

function checkEvaluationSummary(v: Record<string, unknown>, file: string): EvaluationSummary {
  for (const k of ['checkpointSha256', 'recordsSha256', 'datasetSource'] as const) if (typeof v[k] !== 'string') throw badField(file, k);
  if (!v.metrics || typeof v.metrics !== 'object') throw badField(file, 'metrics');
  return { ...(v as unknown as EvaluationSummary), dataset: checkRecordedDataset(v.dataset, file) };
}

/**
 * The dataset an evaluation summary names, as a file we did not write must be read: the atlas build and C² open it
 * again, and a summary may come with a shared checkpoint. A split is a plain name (the card's entry for it is then
 * contained in the model's folder, openDataset.ts); a folder or IDX files are absolute paths (evaluation records
 * them so) to be checked on disk by recordedDatasetOnDisk before anything is read.
 */
function checkRecordedDataset(v: unknown, file: string): DatasetSpec {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badField(file, 'dataset');
  const d = v as Record<string, unknown>;
  const absolute = (field: string): string => {
    const p = d[field];
    if (typeof p !== 'string' || p === '' || p.includes('\0') || !path.isAbsolute(p))
      throw badDatasetField(file, field, p, 'is not an absolute path');
    return path.normalize(p);
  };
  switch (d.kind) {
    case 'split':
      if (typeof d.split !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(d.split))
        throw badDatasetField(file, 'split', d.split, 'is not the name of a split');
      return { kind: 'split', split: d.split };
    case 'folder':
      return { kind: 'folder', path: absolute('path') };
    case 'idx':
      return { kind: 'idx', images: absolute('images'), labels: absolute('labels') };
    default:
      throw badDatasetField(file, 'kind', d.kind, "is none of 'split', 'folder', 'idx'");
  }
}

/** The recorded dataset, once its paths are checked on disk: a folder must be a folder and IDX files regular files
 *  (never a device such as /dev/zero, whose reading never ends), each refusal naming the summary and its field. */
export async function recordedDatasetOnDisk(e: { summary: EvaluationSummary; dir: string }): Promise<DatasetSpec> {
  const file = path.join(e.dir, derivedFiles.evaluationJson);
  const d = e.summary.dataset;
  const expect = async (field: string, p: string, kind: 'folder' | 'file') => {
    const st = await fs.stat(p).catch(() => undefined);
    if (!st)
      throw new FactError(
        'file-missing',
        `The dataset '${p}', named in "dataset.${field}" of '${file}', does not exist (any more); evaluate again on the dataset where it is now (fact evaluate --data).`,
        { file, field: `dataset.${field}` },
      );
    if (kind === 'folder' ? !st.isDirectory() : !st.isFile())
      throw badDatasetField(file, field, p, kind === 'folder' ? 'is not a folder' : 'is not a regular file');
  };
  if (d.kind === 'folder') await expect('path', d.path, 'folder');
  if (d.kind === 'idx') {
    await expect('images', d.images, 'file');
    await expect('labels', d.labels, 'file');
  }
  return d;
}

function badDatasetField(file: string, field: string, value: unknown, why: string): FactError {
  return new FactError(
    'bad-store',
    `'${file}' names ${JSON.stringify(value)} in its field "dataset.${field}", which ${why}; delete it and evaluate again (fact evaluate).`,
    { file, field: `dataset.${field}` },
  );
}

// ── the concept atlas: atlas/atlas.json + atlas/concepts/NNNNN.png ───────────────────────────────────────────────

export function atlasWriter(f: SaeFolder): AtlasWriter {
  return {
    // Called holding the derived folder's writer lock: the temporaries of a killed build are dead for sure.
    begin: async () => {
      const atlas = path.join(f.out, derivedFiles.atlasDir);
      await removeDeadTemporaries(atlas);
      await removeDeadTemporaries(path.join(atlas, atlasStripsFolder));
    },
    strip: async (name, png) => {
      await writeDerived(f, path.join(derivedFiles.atlasDir, name), png);
    },
    index: async (atlas) => {
      await writeDerived(f, path.join(derivedFiles.atlasDir, derivedFiles.atlasJson), JSON.stringify(atlas));
    },
  };
}

/** The atlas built from these weights (and, when given, from this evaluation), with its folder. */
export async function readAtlas(f: SaeFolder, evaluationSha256?: string): Promise<{ atlas: Atlas; dir: string } | undefined> {
  for (const dir of readDirs(f)) {
    const atlasDir = path.join(dir, derivedFiles.atlasDir);
    const atlas = await readJsonIfPresent(path.join(atlasDir, derivedFiles.atlasJson), checkAtlas);
    if (
      atlas &&
      atlas.checkpointSha256 === f.checkpointSha256 &&
      (evaluationSha256 === undefined || atlas.evaluationSha256 === evaluationSha256)
    )
      return { atlas, dir: atlasDir };
  }
  return undefined;
}

/** The atlas of the current evaluation: undefined when either is missing or the atlas was made from another. */
export async function readCurrentAtlas(f: SaeFolder): Promise<{ atlas: Atlas; dir: string } | undefined> {
  const e = await readEvaluation(f);
  return e ? readAtlas(f, e.summary.recordsSha256) : undefined;
}

/** A concept's strip (PNG bytes), or undefined when the atlas names none or it is gone. The name must stay a file
 *  inside the atlas folder: an atlas someone shares must not make us read another file. */
export async function readAtlasStrip(
  atlasDir: string,
  entry: { concept: number; strip?: string | undefined },
): Promise<Buffer | undefined> {
  const strip = entry.strip;
  if (!strip) return undefined;
  const by = {
    file: path.join(atlasDir, derivedFiles.atlasJson),
    field: `concepts[${entry.concept}].strip`,
    code: 'bad-store' as const,
    maxBytes: MAX_STRIP_BYTES,
  };
  if (!existsSync(containedPath(atlasDir, strip, by, true))) return undefined;
  return readContainedFile(atlasDir, strip, by, true);
}

/** Far above any strip we write (16 images and traces at 4× a 224-pixel side are a few MB). */
const MAX_STRIP_BYTES = 64 << 20;

function checkAtlas(v: Record<string, unknown>, file: string): Atlas {
  if (v.format !== 1)
    throw new FactError(
      'bad-store',
      `The concept atlas '${file}' has format ${String(v.format)}; this version reads format 1: build it again (fact concepts --rebuild).`,
      { file, field: 'format' },
    );
  for (const k of ['checkpointSha256', 'evaluationSha256', 'layer'] as const) if (typeof v[k] !== 'string') throw badField(file, k);
  for (const k of ['dictSize', 'imagesEvaluated', 'side', 'cell'] as const) if (!isNum(v[k])) throw badField(file, k);
  if (!Array.isArray(v.concepts) || v.concepts.length !== v.dictSize) throw badField(file, 'concepts');
  (v.concepts as Record<string, unknown>[]).forEach((c, i) => {
    for (const k of ['concept', 'frequency', 'images', 'meanPresence', 'meanContribution'] as const)
      if (!isNum(c?.[k])) throw badField(file, `concepts[${i}].${k}`);
    if (!Array.isArray(c.classes)) throw badField(file, `concepts[${i}].classes`);
    if (!Array.isArray(c.top)) throw badField(file, `concepts[${i}].top`);
    if (c.strip !== undefined && typeof c.strip !== 'string') throw badField(file, `concepts[${i}].strip`);
  });
  return v as unknown as Atlas;
}

// ── C² consistency: consistency.json + consistency.png ───────────────────────────────────────────────────────────

export type ConsistencyFile = ConsistencyReport & { checkpointSha256: string };

export async function writeConsistency(f: SaeFolder, report: ConsistencyReport, histogramPng: Uint8Array): Promise<ConsistencyFile> {
  const full: ConsistencyFile = { ...report, checkpointSha256: f.checkpointSha256 };
  await writeDerived(f, derivedFiles.histogram, histogramPng);
  await writeDerived(f, derivedFiles.consistency, json(full));
  return full;
}

/** The C² report measured on these weights, with its histogram's path and the report's time; undefined if none. */
export async function readConsistency(
  f: SaeFolder,
): Promise<{ report: ConsistencyFile; histogramFile: string; file: string; mtimeMs: number } | undefined> {
  for (const dir of readDirs(f)) {
    const file = path.join(dir, derivedFiles.consistency);
    const report = await readJsonIfPresent(file, checkConsistency);
    if (report && report.checkpointSha256 === f.checkpointSha256) {
      return { report, file, histogramFile: path.join(dir, derivedFiles.histogram), mtimeMs: (await fs.stat(file)).mtimeMs };
    }
  }
  return undefined;
}

function checkConsistency(v: Record<string, unknown>, file: string): ConsistencyFile {
  if (typeof v.checkpointSha256 !== 'string') throw badField(file, 'checkpointSha256');
  if (typeof v.foundation !== 'string') throw badField(file, 'foundation');
  for (const k of ['mean', 'randomMean', 'deltaRandom', 'minImagesForMean', 'conceptsInMean'] as const)
    if (!isNum(v[k])) throw badField(file, k);
  if (!Array.isArray(v.concepts)) throw badField(file, 'concepts');
  (v.concepts as Record<string, unknown>[]).forEach((c, i) => {
    for (const k of ['concept', 'images', 'score', 'random'] as const) if (!isNum(c?.[k])) throw badField(file, `concepts[${i}].${k}`);
  });
  if (!Array.isArray(v.dropped)) throw badField(file, 'dropped');
  return v as unknown as ConsistencyFile;
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────────────────────────

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function badField(file: string, field: string): FactError {
  return new FactError(
    'bad-store',
    `'${file}' has no valid "${field}": it was not written by this version of FaCT or is damaged; delete it and compute it again.`,
    { file, field },
  );
}

/** Parses and checks a JSON file; undefined when it does not exist; a FactError naming the file when it is broken. */
async function readJsonIfPresent<T>(file: string, check: (v: Record<string, unknown>, file: string) => T): Promise<T | undefined> {
  let text: string;
  try {
    await requireRegularFile(file);
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (isFactError(e)) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new FactError('file-missing', `Cannot read '${file}': ${(e as Error).message}`, { file });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new FactError('bad-store', `'${file}' is not valid JSON (truncated?): ${(e as Error).message}`, { file });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FactError('bad-store', `'${file}' is not a JSON object.`, { file });
  return check(v as Record<string, unknown>, file);
}
