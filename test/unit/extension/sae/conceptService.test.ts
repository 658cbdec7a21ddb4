// The concept service (panels, hovers): the atlas is built once however many ask at the same time, then read from
// the cache; single concepts come from the atlas files without asking the worker; a concept out of range is named.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { Atlas } from '../../../../src/core/concepts/atlas';
import type { CoreMethods, MethodName } from '../../../../src/core/jobs/methods';
import { saveSae } from '../../../../src/core/sae/checkpoint';
import { initialState } from '../../../../src/core/sae/initialWeights';
import { atlasWriter, openSaeFolder, writeEvaluation } from '../../../../src/core/sae/saeFolder';
import { JobRunner, type JobHost } from '../../../../src/extension/jobs/jobRunner';
import { ConceptService } from '../../../../src/extension/sae/conceptService';
import { tempDir } from '../../../support/paths';

const host: JobHost = {
  withProgress: (_title, task) =>
    void task(
      () => {},
      () => {},
    ),
  log: { info: () => {}, warn: () => {}, error: () => {} },
  refuse: () => {},
};

const metrics = {
  images: 4,
  accuracy: 1,
  accuracyWithSae: 0.75,
  imageL0: 2,
  relativeSquaredError: 0.1,
  fvu: 0.1,
  relativeL2Error: 0.3,
  coverageL0: 2,
  alive: 2,
  alivePercentage: 50,
  alwaysActive: 0,
  worstCompletenessRel: 1e-6,
};

async function evaluatedCheckpoint(cacheRoot: string) {
  const dir = tempDir('fact-concepts-ckpt-');
  const s = initialState(4, 4, 1);
  await saveSae(dir, {
    cfg: { k: 2, dictSize: 4, dModel: 4, layer: 'layer3', modelSha256: 'b'.repeat(64), inputScale: 1 },
    wEnc: s.wEnc,
    wDec: s.wDec,
  });
  const folder = await openSaeFolder(dir, { cacheRoot });
  const summary = await writeEvaluation(folder, async (file) => writeFileSync(file, 'records'), {
    dataset: { kind: 'split', split: 'test' },
    datasetSource: 'test',
    metrics,
    evaluatedAt: '2026-01-01T00:00:00.000Z',
  });
  const atlas: Atlas = {
    format: 1,
    checkpointSha256: folder.checkpointSha256,
    evaluationSha256: summary.recordsSha256,
    layer: 'layer3',
    dictSize: 4,
    imagesEvaluated: 4,
    side: 8,
    cell: 96,
    concepts: [0, 1, 2, 3].map((c) => ({
      concept: c,
      frequency: c / 4,
      images: c,
      meanPresence: c,
      meanContribution: c / 2,
      classes: [],
      top: [],
      ...(c ? { strip: `concepts/${c}.png` } : {}),
    })),
    builtAt: '2026-01-01T00:00:00.000Z',
    seconds: 1,
  };
  return { dir, folder, atlas };
}

/** A worker whose `concepts` writes the atlas when released; every other method is a test failure. */
function fakeCore(write: () => Promise<void>) {
  const calls: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const call = async <M extends MethodName>(method: M): Promise<CoreMethods[M]['result']> => {
    calls.push(method);
    if (method !== 'concepts') throw new Error(`unexpected worker call ${method}`);
    await gate;
    await write();
    return { atlasDir: '', concepts: 4, alive: 3, rebuilt: true, evaluated: false, seconds: 0 } as CoreMethods[M]['result'];
  };
  return { core: { call }, calls, release };
}

/** Counts the askers that have looked on disk, so that the build is released only once all of them have. */
class ProbedConceptService extends ConceptService {
  private looked = 0;
  private waiters: { n: number; resolve: () => void }[] = [];
  protected override async load(sae: string) {
    const r = await super.load(sae);
    this.looked++;
    for (const w of this.waiters.filter((x) => this.looked >= x.n)) w.resolve();
    return r;
  }
  lookedOnDisk(n: number): Promise<void> {
    return this.looked >= n ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

describe('concept service', () => {
  it('builds a missing atlas once for concurrent askers, then serves concepts from its files', async () => {
    const cacheRoot = tempDir('fact-concepts-cache-');
    const { dir, folder, atlas } = await evaluatedCheckpoint(cacheRoot);
    const fake = fakeCore(async () => {
      const w = atlasWriter(folder);
      for (const c of atlas.concepts) if (c.strip) await w.strip(c.strip, Uint8Array.of(c.concept, 7));
      await w.index(atlas);
    });
    const jobs = new JobRunner(host);
    const service = new ProbedConceptService(
      () => fake.core,
      jobs,
      () => ({ cacheRoot }),
    );
    assert.equal(await service.readyAtlas(dir), undefined, 'nothing on disk yet');
    const first = service.atlas('/m/model.onnx', dir);
    const second = service.atlas('/m/model.onnx', dir);
    const concept = service.concept('/m/model.onnx', dir, 2);
    await service.lookedOnDisk(4); // readyAtlas and the three askers found no atlas; the build is still held
    fake.release();
    const [a, b, c] = await Promise.all([first, second, concept]);
    assert.deepEqual(fake.calls, ['concepts'], 'one build for three askers');
    assert.deepEqual(a, atlas);
    assert.deepEqual(b, atlas);
    assert.equal(c.meanPresence, 2);
    assert.equal(c.stripPng, Buffer.from([2, 7]).toString('base64'));
    assert.deepEqual(await service.readyAtlas(dir), atlas);
    await assert.rejects(service.concept('/m/model.onnx', dir, 4), /Concept 4 is out of range: this SAE has concepts 0–3/);
    assert.deepEqual(fake.calls, ['concepts'], 'later asks read the cache');
  });

  it('says so when the build ends without a readable atlas', async () => {
    const cacheRoot = tempDir('fact-concepts-cache-');
    const { dir } = await evaluatedCheckpoint(cacheRoot);
    const fake = fakeCore(async () => {});
    fake.release();
    const service = new ConceptService(
      () => fake.core,
      new JobRunner(host),
      () => ({ cacheRoot }),
    );
    await assert.rejects(service.atlas('/m/model.onnx', dir), /could not be read after it was built/);
  });
});
