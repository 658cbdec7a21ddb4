// Concept data for the panels and hovers, computed once: the concept atlas of a checkpoint (built by the core's
// `concepts` as a job with progress when it is missing or stale) and single concepts. A current atlas is read from
// the files the core wrote (atlas/atlas.json, the concept strips, consistency.json) — the same data the core's
// `concept` returns, without loading the evaluation records in the worker for every concept — and cached until the
// checkpoint, its evaluation, atlas or C² report change. Concurrent askers share one computation: the same heavy
// job never runs twice. No `vscode` import.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readAtlasStrip } from '../../core/concepts/atlas';
import type { CoreWorker } from '../../core/jobs/workerClient';
import type { CoreMethods } from '../../core/jobs/methods';
import type { JobRunner } from '../jobs/jobRunner';
import { BESIDE, WEIGHTS_FILE } from '../tree/saeCheckpoints';
import { atlasIsCurrent, readAtlas, readConsistency, type AtlasSummary, type ConsistencyFile } from './saeFiles';

export type ConceptResult = CoreMethods['concept']['result'];

export const CONCEPTS_JOB = 'concepts';

/** Changes whenever the weights, the evaluation, the atlas or the C² report of a checkpoint change. */
export async function checkpointStamp(sae: string): Promise<string> {
  const m = async (f: string) => {
    const st = await fs.stat(path.join(sae, f)).catch(() => undefined);
    return st ? `${st.mtimeMs}/${st.size}` : '-';
  };
  return (await Promise.all([m(WEIGHTS_FILE), m(BESIDE.evaluationJson), m(BESIDE.atlas), m(BESIDE.consistency)])).join(':');
}

interface Loaded { atlas: AtlasSummary; byConcept: Map<number, AtlasSummary['concepts'][number]>; consistency: ConsistencyFile | undefined }

export class ConceptService {
  /** What is on disk, read once per stamp (only when current). */
  private readonly loaded = new Map<string, { stamp: string; p: Promise<Loaded | undefined> }>();
  /** Atlas builds in flight, per checkpoint. */
  private readonly building = new Map<string, Promise<void>>();

  constructor(private readonly core: () => CoreWorker, private readonly jobs: JobRunner, private readonly describe: (sae: string) => string = (s) => path.basename(s)) {}

  private async load(sae: string): Promise<Loaded | undefined> {
    const stamp = await checkpointStamp(sae);
    const hit = this.loaded.get(sae);
    if (hit && hit.stamp === stamp) return hit.p;
    const p = (async () => {
      if (!(await atlasIsCurrent(sae))) return undefined;
      const atlas = await readAtlas(sae);
      if (!atlas) return undefined;
      return { atlas, byConcept: new Map(atlas.concepts.map((c) => [c.concept, c])), consistency: await readConsistency(sae) };
    })();
    this.loaded.set(sae, { stamp, p });
    p.then((v) => { if (!v && this.loaded.get(sae)?.p === p) this.loaded.delete(sae); }, () => this.loaded.delete(sae));
    return p;
  }

  /** The atlas if it is on disk and current, without computing anything. */
  async readyAtlas(sae: string): Promise<AtlasSummary | undefined> {
    return (await this.load(sae))?.atlas;
  }

  /**
   * The concept atlas of `sae`, built by the core when missing or stale (a job with progress and Cancel). Rejects
   * when the checkpoint has no current evaluation (the message says to evaluate first).
   */
  async atlas(model: string, sae: string): Promise<AtlasSummary> {
    return (await this.ensure(model, sae)).atlas;
  }

  private async ensure(model: string, sae: string): Promise<Loaded> {
    const ready = await this.load(sae);
    if (ready) return ready;
    if (!existsSync(path.join(sae, BESIDE.evaluationJson))) {
      throw new Error(`The SAE in '${sae}' has not been evaluated yet: run FaCT: Evaluate SAE first (its concepts' statistics and top images come from the evaluation).`);
    }
    let b = this.building.get(sae);
    if (!b) {
      b = (async () => {
        const start = this.jobs.start({
          kind: CONCEPTS_JOB,
          target: sae,
          title: `Building the concept atlas of ${this.describe(sae)}`,
          run: (ctx) => this.core().call('concepts', { model, sae }, { signal: ctx.signal, onProgress: ctx.report }),
          describeResult: (r) => `${r.alive} of ${r.concepts} concepts alive, ${r.rebuilt ? `built in ${r.seconds.toFixed(1)} s` : 'reused'}`,
        });
        if (!start.started) throw new Error(start.message);
        await start.result;
      })();
      this.building.set(sae, b);
      void b.then(() => this.building.delete(sae), () => this.building.delete(sae));
    }
    await b;
    this.loaded.delete(sae);
    const after = await this.load(sae);
    if (after) return after;
    // The files do not read as current (e.g. an atlas format this editor does not know): ask the core for it.
    const a = await readAtlas(sae);
    if (!a) throw new Error(`The concept atlas of '${sae}' could not be read after it was built.`);
    return { atlas: a, byConcept: new Map(a.concepts.map((c) => [c.concept, c])), consistency: await readConsistency(sae) };
  }

  /** One concept of `sae`: statistics, top images, the strip, C² (the atlas is built first when needed). */
  async concept(model: string, sae: string, concept: number): Promise<ConceptResult> {
    const l = await this.ensure(model, sae);
    if (!Number.isInteger(concept) || concept < 0 || concept >= l.atlas.dictSize) {
      throw new Error(`Concept ${concept} is out of range: this SAE has concepts 0–${l.atlas.dictSize - 1}.`);
    }
    const c = l.byConcept.get(concept);
    if (!c) return this.core().call('concept', { model, sae, concept });
    const strip = await readAtlasStrip(sae, c).then((b) => b?.toString('base64'), () => undefined);
    const c2 = l.consistency?.concepts.find((x) => x.concept === concept);
    return {
      concept: c.concept, frequency: c.frequency, images: c.images, meanPresence: c.meanPresence, meanContribution: c.meanContribution,
      classes: c.classes, top: c.top, ...(c.strip ? { strip: c.strip } : {}),
      ...(strip ? { stripPng: strip } : {}),
      ...(c2 ? { c2: c2.score, c2Random: c2.random } : {}),
    };
  }

  /** Forget everything about `sae` (it was deleted, retrained or re-evaluated). */
  forget(sae?: string): void {
    for (const k of [...this.loaded.keys()]) if (!sae || k === sae) this.loaded.delete(k);
  }
}
