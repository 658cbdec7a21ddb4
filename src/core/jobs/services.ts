// The long-lived state a process (CLI, worker thread) keeps between calls: opened models and their sessions.
import { promises as fs } from 'node:fs';
import { openModel, type ModelContext } from '../model/modelContext';
import { Explainer } from '../engine/explainer';
import { ModelRunner } from '../model/modelRunner';
import type { SessionOptions } from '../onnx/session';
import { defaultCacheRoot, explanationGraphsFolder } from '../sae/saeFolder';

export interface CoreOptions extends SessionOptions {
  /** Where derived files of SAE checkpoints go (default: $FACT_CACHE, else the XDG cache's fact-vscode folder). */
  cacheRoot?: string;
  /** How a person chooses another cache folder, said when it cannot be written. */
  howToChangeCache?: string;
  /** Keep explanation graphs in the cache root (the CLI and the editor's worker do), so that the first explanation
   *  in the next process skips building and optimising them. */
  cacheGraphs?: boolean;
}

export class CoreServices {
  readonly runner: ModelRunner;
  private readonly models = new Map<string, { mtimeMs: number; size: number; ctx: Promise<ModelContext> }>();

  private readonly explainers = new Map<ModelContext, Promise<Explainer>>();

  /** The derived files' cache of this process. */
  readonly cache: { root: string; howToChange: string };

  constructor(readonly options: CoreOptions = {}) {
    this.runner = new ModelRunner(options);
    this.cache = {
      root: options.cacheRoot ?? defaultCacheRoot(),
      howToChange: options.howToChangeCache ?? 'Set FACT_CACHE to another folder or pass --out DIR.',
    };
  }

  /** The explanation engine for a model, analysed once per opened model. */
  async explainer(file: string): Promise<Explainer> {
    const ctx = await this.model(file);
    let hit = this.explainers.get(ctx);
    if (!hit) {
      for (const [old, e] of this.explainers)
        if (old.file === file) {
          this.explainers.delete(old);
          void e.then((x) => x.dispose()).catch(() => undefined);
        }
      hit = Explainer.create(
        ctx,
        this.options.cacheGraphs ? { ...this.options, graphCache: explanationGraphsFolder(this.cache.root) } : this.options,
      );
      hit.catch(() => this.explainers.delete(ctx));
      this.explainers.set(ctx, hit);
    }
    return hit;
  }

  /** Opens a model once and reuses it until its file (or its card) changes on disk. */
  async model(file: string): Promise<ModelContext> {
    const stat = await fs.stat(file).catch(() => undefined);
    const hit = this.models.get(file);
    if (stat && hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.ctx;
    const ctx = openModel(file);
    if (stat) this.models.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, ctx });
    ctx.catch(() => this.models.delete(file));
    return ctx;
  }

  async dispose(): Promise<void> {
    const explainers = [...this.explainers.values()];
    this.explainers.clear();
    await Promise.all(explainers.map((e) => e.then((x) => x.dispose()).catch(() => undefined)));
    this.models.clear();
    await this.runner.dispose();
  }
}
