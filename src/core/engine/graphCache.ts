// A disk cache of what the first explanation of a model costs: the probed tensor shapes and, per explanation graph,
// onnxruntime's optimised form of it, in onnxruntime's own (flatbuffer) format: a session is made on the file
// memory-mapped, its weights used in place, without reading, parsing or copying them (reading a ResNet-50's 205 MB
// graph into memory was most of a warm first explanation). Keyed by the model's hash, the engine's version, onnxruntime's version and the
// CPU (an optimised graph may hold kernels laid out for this CPU), so a second process (or a reloaded window)
// skips building, encoding and optimising the graph. Entries are written atomically (the metadata last, as the
// commit mark); an entry that cannot be read or loaded is removed and rebuilt, never fatal.
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync, readdirSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnxruntimeVersion } from '../onnx/session';

let engineHash: string | undefined;

/** Changes whenever the code that builds graphs changes: the hash of the running bundle (dist/*.js holds the whole
 *  engine), or, when running from source, of the engine's, the ONNX layer's and the model loader's source files. */
export function engineVersion(): string {
  if (engineHash) return engineHash;
  const h = createHash('sha256');
  const own = __filename;
  const files = own.endsWith('.ts')
    ? [path.dirname(own), path.join(path.dirname(own), '..', 'onnx'), path.join(path.dirname(own), '..', 'model')].flatMap((d) =>
        readdirSync(d)
          .filter((f) => f.endsWith('.ts'))
          .sort()
          .map((f) => path.join(d, f)),
      )
    : [own];
  for (const f of files) h.update(f.endsWith('.ts') ? path.basename(f) : '').update(readFileSync(f));
  return (engineHash = h.digest('hex').slice(0, 16));
}

export function cacheKey(parts: unknown[]): string {
  const machine = `${process.arch} ${os.cpus()[0]?.model ?? ''}`;
  return createHash('sha256')
    .update(JSON.stringify([engineVersion(), onnxruntimeVersion, machine, ...parts]))
    .digest('hex')
    .slice(0, 32);
}

export interface CachedGraphMeta {
  outputs: string[];
  frozen: string[];
  pathLength: number;
  biasNodes: string[];
}

/** The optimised graph's file extension: onnxruntime's format. */
const GRAPH = '.ort';

/** Entries not used for this long are removed whenever a graph is stored: an update of the engine or of onnxruntime
 *  changes every key, and the graphs it leaves behind are large (about 200 MB for a ResNet-50). */
export const STALE_AFTER_MS = 30 * 24 * 3600 * 1000;

/** Marks a file as used now (its mtime), for pruning. */
async function touch(file: string): Promise<void> {
  const now = new Date();
  await fs.utimes(file, now, now).catch(() => undefined);
}

export class GraphCache {
  constructor(readonly dir: string) {}

  private file(key: string, ext: string): string {
    return path.join(this.dir, `${key}${ext}`);
  }

  /** A small JSON value, or undefined when missing or unreadable (an unreadable one is removed). */
  async readJson<T>(key: string): Promise<T | undefined> {
    const file = this.file(key, '.json');
    if (!existsSync(file)) return undefined;
    try {
      const value = JSON.parse(await fs.readFile(file, 'utf8')) as T;
      await touch(file);
      return value;
    } catch {
      await this.remove(key);
      return undefined;
    }
  }

  async writeJson(key: string, value: unknown): Promise<void> {
    await this.atomic(this.file(key, '.json'), async (tmp) => fs.writeFile(tmp, JSON.stringify(value)));
  }

  /** A session on the cached optimised graph, with its metadata; undefined (and the entry removed) when missing,
   *  incomplete or unloadable. */
  async openGraph(
    key: string,
    options: ort.InferenceSession.SessionOptions,
  ): Promise<{ session: ort.InferenceSession; meta: CachedGraphMeta } | undefined> {
    const file = this.file(key, GRAPH);
    const meta = await this.readJson<CachedGraphMeta>(key);
    if (!meta || !existsSync(file) || !Array.isArray(meta.outputs)) return undefined;
    try {
      // Already optimised at level 'all' when it was written: optimising again would only cost time. Its
      // convolutions already hold their weights in the CPU's blocked layout, so pre-packing (two thirds of the load
      // time of a ResNet-50) bought no speed per run here. onnxruntime maps the file and reads the weights from the
      // mapping: reading the file into memory first cost ~1 s of CPU for a ResNet-50 (page faults on 205 MB of fresh
      // memory), the mapping ~0.2 s; the pages come from the page cache and are shared. Entries are only ever
      // replaced by renaming, never rewritten in place, so a mapped file does not change under a session.
      const extra = options.extra as { session?: Record<string, unknown> } | undefined;
      const inPlace = {
        disable_prepacking: '1',
        use_memory_mapped_ort_model: '1',
        use_ort_model_bytes_directly: '1',
        use_ort_model_bytes_for_initializers: '1',
      };
      const session = await ort.InferenceSession.create(file, {
        ...options,
        graphOptimizationLevel: 'disabled',
        extra: { ...extra, session: { ...extra?.session, ...inPlace } },
      });
      const have = new Set(session.outputNames);
      if (!meta.outputs.every((o) => have.has(o))) {
        await session.release();
        throw new Error('outputs differ');
      }
      await touch(file);
      return { session, meta };
    } catch {
      await this.remove(key);
      return undefined;
    }
  }

  /** Opens a session on `model` that also writes its optimised form into the cache, then commits the entry. A
   *  failure to write the cache leaves the session usable and the cache without the entry. */
  async createAndStore(
    key: string,
    model: Uint8Array,
    options: ort.InferenceSession.SessionOptions,
    meta: CachedGraphMeta,
  ): Promise<ort.InferenceSession> {
    const file = this.file(key, GRAPH);
    const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}${GRAPH}`;
    let session: ort.InferenceSession;
    try {
      await fs.mkdir(this.dir, { recursive: true });
      const extra = options.extra as { session?: Record<string, unknown> } | undefined;
      session = await ort.InferenceSession.create(model, {
        ...options,
        optimizedModelFilePath: tmp,
        extra: { ...extra, session: { ...extra?.session, save_model_format: 'ORT' } },
      });
    } catch {
      await fs.rm(tmp, { force: true });
      return ort.InferenceSession.create(model, options);
    }
    try {
      if (!statSync(tmp).size) throw new Error('empty');
      await fs.rename(tmp, file);
      await this.writeJson(key, meta);
    } catch {
      await fs.rm(tmp, { force: true });
    }
    await this.prune(Date.now() - STALE_AFTER_MS);
    return session;
  }

  /** Removes the entries whose files were last used before `cutoff` (ms since the epoch); never fails. */
  async prune(cutoff: number): Promise<void> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.includes('.tmp-') || !(name.endsWith(GRAPH) || name.endsWith('.json'))) continue;
      const st = await fs.stat(path.join(this.dir, name)).catch(() => undefined);
      if (st && st.mtimeMs < cutoff) await this.remove(name.slice(0, name.lastIndexOf('.')));
    }
  }

  async remove(key: string): Promise<void> {
    await Promise.all(['.json', GRAPH].map((ext) => fs.rm(this.file(key, ext), { force: true }).catch(() => undefined)));
  }

  private async atomic(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
    try {
      await write(tmp);
      await fs.rename(tmp, file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }
}
