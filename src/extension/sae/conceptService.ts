// Concept data for the panels and hovers, computed once: the concept atlas of a checkpoint (built by the core's
// `concepts` as a job with progress when it is missing or stale) and single concepts. A current atlas is read from
// the files the core wrote into the cache (src/core/sae/saeFolder.ts: atlas, strips, C² report) — the same data the core's
// `concept` returns, without loading the evaluation records in the worker for every concept — and cached until the
// checkpoint, its evaluation, atlas or C² report change. Concurrent askers share one computation: the same heavy
// job never runs twice. No `vscode` import.
import * as path from 'node:path';
import type { Atlas, AtlasConcept } from '../../core/concepts/atlas';
import type { CoreWorker } from '../../core/jobs/workerClient';
import type { CoreMethods } from '../../core/jobs/methods';
import {
  derivedStamp,
  readAtlasStrip,
  readConsistency,
  readCurrentAtlas,
  type ConsistencyFile,
  type SaeFolder,
} from '../../core/sae/saeFolder';
import type { JobRunner } from '../jobs/jobRunner';
import { log } from '../log';
import type { ModelEnv } from '../models';
import { saeFolder } from './saeFiles';

export type ConceptResult = CoreMethods['concept']['result'];

export const CONCEPTS_JOB = 'concepts';

interface Loaded {
  atlas: Atlas;
  atlasDir: string;
  byConcept: Map<number, AtlasConcept>;
  consistency: ConsistencyFile | undefined;
}

export class ConceptService {
  /** What is on disk, read once per stamp (only when current). */
  private readonly loaded = new Map<string, { stamp: string; p: Promise<Loaded | undefined> }>();
  /** Atlas builds in flight, per checkpoint. */
  private readonly building = new Map<string, Promise<void>>();

  constructor(
    private readonly core: () => Pick<CoreWorker, 'call'>,
    private readonly jobs: JobRunner,
    private readonly env: () => Pick<ModelEnv, 'cacheRoot'>,
    private readonly describe: (sae: string) => string = (s) => path.basename(s),
  ) {}

  /** The checkpoint folder and its derived files in the extension's cache (src/core/sae/saeFolder.ts). */
  folder(sae: string): Promise<SaeFolder> {
    return saeFolder(sae, this.env());
  }

  /** The C² report of the checkpoint's current weights; undefined when there is none or it cannot be read (logged). */
  async consistency(sae: string): Promise<Awaited<ReturnType<typeof readConsistency>>> {
    try {
      return await readConsistency(await this.folder(sae));
    } catch (e) {
      log().warn(`The C² report of ${sae} cannot be read: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Protected: a test observes when an asker has looked on disk. */
  protected async load(sae: string): Promise<Loaded | undefined> {
    const folder = await this.folder(sae);
    const stamp = await derivedStamp(folder);
    const hit = this.loaded.get(sae);
    if (hit && hit.stamp === stamp) return hit.p;
    const p = (async () => {
      const found = await readCurrentAtlas(folder);
      if (!found) return undefined;
      const consistency = (await readConsistency(folder))?.report;
      return { atlas: found.atlas, atlasDir: found.dir, byConcept: new Map(found.atlas.concepts.map((c) => [c.concept, c])), consistency };
    })();
    this.loaded.set(sae, { stamp, p });
    p.then(
      (v) => {
        if (!v && this.loaded.get(sae)?.p === p) this.loaded.delete(sae);
      },
      () => this.loaded.delete(sae),
    );
    return p;
  }

  /** The atlas if it is on disk and current, without computing anything. */
  async readyAtlas(sae: string): Promise<Atlas | undefined> {
    return (await this.load(sae).catch(() => undefined))?.atlas;
  }

  /** A concept's strip (PNG bytes) from the current atlas, when it is ready. */
  async readyStrip(sae: string, concept: AtlasConcept): Promise<Buffer | undefined> {
    const l = await this.load(sae).catch(() => undefined);
    return l ? readAtlasStrip(l.atlasDir, concept).catch(() => undefined) : undefined; // a hover shows no thumbnail rather than an error
  }

  /**
   * The concept atlas of `sae`, built by the core into the cache when missing or stale (a job with progress and
   * Cancel; it evaluates the checkpoint first when its evaluation records are missing).
   */
  async atlas(model: string, sae: string): Promise<Atlas> {
    return (await this.ensure(model, sae)).atlas;
  }

  private async ensure(model: string, sae: string): Promise<Loaded> {
    const ready = await this.load(sae);
    if (ready) return ready;
    let b = this.building.get(sae);
    if (!b) {
      b = (async () => {
        const start = this.jobs.start({
          kind: CONCEPTS_JOB,
          target: sae,
          title: `Building the concept atlas of ${this.describe(sae)}`,
          run: (ctx) =>
            this.core().call('concepts', { model, sae, cacheRoot: this.env().cacheRoot }, { signal: ctx.signal, onProgress: ctx.report }),
          describeResult: (r) =>
            `${r.alive} of ${r.concepts} concepts alive, ${r.rebuilt ? `built in ${r.seconds.toFixed(1)} s` : 'reused'}`,
        });
        if (!start.started) throw new Error(start.message);
        await start.result;
      })();
      this.building.set(sae, b);
      void b.then(
        () => this.building.delete(sae),
        () => this.building.delete(sae),
      );
    }
    await b;
    this.loaded.delete(sae);
    const after = await this.load(sae);
    if (!after) throw new Error(`The concept atlas of '${sae}' could not be read after it was built (cache: ${this.env().cacheRoot}).`);
    return after;
  }

  /** One concept of `sae`: statistics, top images, the strip, C² (the atlas is built first when needed). */
  async concept(model: string, sae: string, concept: number): Promise<ConceptResult> {
    const l = await this.ensure(model, sae);
    if (!Number.isInteger(concept) || concept < 0 || concept >= l.atlas.dictSize) {
      throw new Error(`Concept ${concept} is out of range: this SAE has concepts 0–${l.atlas.dictSize - 1}.`);
    }
    const c = l.byConcept.get(concept);
    if (!c) return this.core().call('concept', { model, sae, concept, cacheRoot: this.env().cacheRoot });
    const strip = (await readAtlasStrip(l.atlasDir, c))?.toString('base64');
    const c2 = l.consistency?.concepts.find((x) => x.concept === concept);
    return {
      concept: c.concept,
      frequency: c.frequency,
      images: c.images,
      meanPresence: c.meanPresence,
      meanContribution: c.meanContribution,
      classes: c.classes,
      top: c.top,
      ...(c.strip ? { strip: c.strip } : {}),
      ...(strip ? { stripPng: strip } : {}),
      ...(c2 ? { c2: c2.score, c2Random: c2.random } : {}),
    };
  }

  /** Forget everything about `sae` (it was deleted, retrained or re-evaluated). */
  forget(sae?: string): void {
    for (const k of [...this.loaded.keys()]) if (!sae || k === sae) this.loaded.delete(k);
  }
}
