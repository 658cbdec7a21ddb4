// The long-lived state a process (CLI, worker thread) keeps between calls: opened models and their sessions.
import { promises as fs } from 'node:fs';
import { openModel, type ModelContext } from '../model/modelContext';
import { ModelRunner } from '../model/modelRunner';
import type { SessionOptions } from '../onnx/session';

export class CoreServices {
  readonly runner: ModelRunner;
  private readonly models = new Map<string, { mtimeMs: number; size: number; ctx: Promise<ModelContext> }>();

  constructor(options: SessionOptions = {}) {
    this.runner = new ModelRunner(options);
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
    this.models.clear();
    await this.runner.dispose();
  }
}
