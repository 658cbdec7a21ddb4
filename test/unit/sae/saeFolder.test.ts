// The SAE folder and its cache (src/core/sae/saeFolder.ts): every field the core writes is read back — by the core's
// readers and by the editor's checkpoint listing — from the cache, the checkpoint folder itself is never written,
// files shipped in the checkpoint are read, stale files are ignored, and an unwritable cache is a clear error.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Atlas } from '../../../src/core/concepts/atlas';
import type { ConsistencyReport } from '../../../src/core/consistency/measureConsistency';
import { isFactError } from '../../../src/core/errors';
import { saveSae } from '../../../src/core/sae/checkpoint';
import { initialState } from '../../../src/core/sae/initialWeights';
import {
  atlasWriter,
  cacheFolderOf,
  defaultCacheRoot,
  derivedFiles,
  openSaeFolder,
  readAtlasStrip,
  readConsistency,
  readCurrentAtlas,
  readEvaluation,
  recordedDatasetOnDisk,
  withDerivedWriter,
  writeConsistency,
  writeEvaluation,
  type EvaluationSummary,
} from '../../../src/core/sae/saeFolder';
import { LOCK_FILE } from '../../../src/core/util/writerLock';
import { readCheckpoint } from '../../../src/extension/tree/saeCheckpoints';
import { tempDir } from '../../support/paths';

const modelSha = 'a'.repeat(64);

async function checkpoint(seed = 3): Promise<string> {
  const dir = tempDir('fact-folder-ckpt-');
  const s = initialState(4, 8, seed);
  await saveSae(dir, {
    cfg: { k: 2, dictSize: 8, dModel: 4, layer: 'layer3', modelSha256: modelSha, inputScale: 1.5 },
    wEnc: s.wEnc,
    wDec: s.wDec,
  });
  return dir;
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, name);
    if (statSync(file).isFile()) out[name] = readFileSync(file).toString('base64');
  }
  return out;
}

const metrics = {
  images: 30,
  accuracy: 0.9,
  accuracyWithSae: 0.85,
  imageL0: 5.5,
  relativeSquaredError: 0.12,
  fvu: 0.13,
  relativeL2Error: 0.3,
  coverageL0: 3.25,
  alive: 7,
  alivePercentage: 87.5,
  alwaysActive: 1,
  worstCompletenessRel: 2e-6,
};

const report: ConsistencyReport = {
  foundation: '/models/foundation.onnx',
  upsampler: 'bilinear',
  quantile: 0.95,
  concepts: [
    { concept: 0, images: 12, score: 0.7, random: 0.4 },
    { concept: 3, images: 9, score: 0.6, random: 0.45 },
  ],
  dropped: [{ concept: 5, images: 1, reason: 'too few images' }],
  mean: 0.65,
  randomMean: 0.425,
  deltaRandom: 0.225,
  minImagesForMean: 5,
  conceptsInMean: 2,
  meanImages: 30,
  seconds: 1.5,
};

function atlasOf(checkpointSha256: string, evaluationSha256: string): Atlas {
  return {
    format: 1,
    checkpointSha256,
    evaluationSha256,
    layer: 'layer3',
    dictSize: 8,
    imagesEvaluated: 30,
    side: 8,
    cell: 96,
    concepts: Array.from({ length: 8 }, (_, c) => ({
      concept: c,
      frequency: c / 10,
      images: c,
      meanPresence: 0.5 + c,
      meanContribution: 0.25 * c,
      classes: c ? [{ index: 1, name: 'square', contribution: 1.5 }] : [],
      top: c ? [{ row: 2, image: 17, presence: 3.5, contribution: 0.75, label: 1, predicted: 1, crop: { x: 1, y: 2, size: 5 } }] : [],
      ...(c ? { strip: `concepts/${String(c).padStart(5, '0')}.png` } : {}),
    })),
    builtAt: '2026-01-01T00:00:00.000Z',
    seconds: 2,
  };
}

describe('the SAE folder and its cache', () => {
  it('writes evaluation, atlas and C² into the cache and reads every field back, leaving the checkpoint as it was', async () => {
    const dir = await checkpoint();
    const before = snapshot(dir);
    const cacheRoot = tempDir('fact-folder-cache-');
    const f = await openSaeFolder(dir, { cacheRoot });
    assert.equal(f.out, cacheFolderOf(cacheRoot, modelSha, f.checkpointSha256), 'keyed by the hashes of model and weights');
    const summary = await writeEvaluation(f, async (file) => writeFileSync(file, 'records'), {
      dataset: { kind: 'split', split: 'test' },
      datasetSource: 'data/t10k.gz',
      metrics,
      evaluatedAt: '2026-01-01T00:00:00.000Z',
    });
    const evaluation = await readEvaluation(f);
    assert.deepEqual(evaluation?.summary, summary satisfies EvaluationSummary);
    assert.equal(evaluation?.dir, f.out);
    const atlas = atlasOf(f.checkpointSha256, summary.recordsSha256);
    const writer = atlasWriter(f);
    for (const c of atlas.concepts) if (c.strip) await writer.strip(c.strip, Uint8Array.of(c.concept));
    await writer.index(atlas);
    const read = await readCurrentAtlas(f);
    assert.deepEqual(read?.atlas, atlas);
    assert.deepEqual(await readAtlasStrip(read!.dir, atlas.concepts[3]!), Buffer.from([3]));
    const written = await writeConsistency(f, report, Uint8Array.of(137, 80));
    const c2 = await readConsistency(f);
    assert.deepEqual(c2?.report, written);
    assert.deepEqual(readFileSync(c2!.histogramFile), Buffer.from([137, 80]));
    // The editor's checkpoint listing (tree, hovers) shows the same figures.
    const info = await readCheckpoint(path.dirname(dir), dir, cacheRoot);
    assert.deepEqual(info.evaluation, {
      ...Object.fromEntries(
        Object.entries(metrics).filter(([k]) =>
          ['images', 'accuracy', 'accuracyWithSae', 'imageL0', 'relativeSquaredError', 'coverageL0', 'alive', 'alivePercentage'].includes(
            k,
          ),
        ),
      ),
      dataset: 'data/t10k.gz',
    });
    assert.deepEqual(info.consistency, {
      foundation: 'foundation.onnx',
      mean: report.mean,
      randomMean: report.randomMean,
      deltaRandom: report.deltaRandom,
      concepts: report.conceptsInMean,
    });
    assert.deepEqual(info.has, { evaluation: true, atlas: true, consistency: true, trainingLog: false });
    assert.deepEqual(snapshot(dir), before, 'nothing was written into the checkpoint folder');
  });

  it('reads files shipped in the checkpoint folder, and ignores what was made from other weights', async () => {
    const dir = await checkpoint();
    const cacheRoot = tempDir('fact-folder-cache-');
    const f = await openSaeFolder(dir, { cacheRoot });
    // A checkpoint that ships its C² report (as the default one does) is read where it is.
    const shipped = await openSaeFolder(dir, { out: dir });
    await writeConsistency(shipped, report, Uint8Array.of(1));
    assert.equal((await readConsistency(f))?.file, path.join(dir, derivedFiles.consistency));
    // Retrained weights: the old report no longer belongs to the checkpoint.
    const other = await checkpoint(9);
    copyFileSync(path.join(other, 'sae.safetensors'), path.join(dir, 'sae.safetensors'));
    const retrained = await openSaeFolder(dir, { cacheRoot });
    assert.notEqual(retrained.checkpointSha256, f.checkpointSha256);
    assert.equal(await readConsistency(retrained), undefined);
    assert.equal(await readEvaluation(retrained), undefined);
  });

  it('names a broken field of a derived file', async () => {
    const dir = await checkpoint();
    const f = await openSaeFolder(dir, { cacheRoot: tempDir('fact-folder-cache-') });
    await writeConsistency(f, report, Uint8Array.of(1));
    const file = path.join(f.out, derivedFiles.consistency);
    const broken = JSON.parse(readFileSync(file, 'utf8'));
    delete broken.concepts[1].score;
    writeFileSync(file, JSON.stringify(broken));
    await assert.rejects(
      readConsistency(f),
      (e: unknown) => isFactError(e) && e.code === 'bad-store' && e.message.includes(file) && e.message.includes('"concepts[1].score"'),
    );
  });

  it('says which cache folder cannot be written and how to choose another', async () => {
    const dir = await checkpoint();
    const notAFolder = path.join(tempDir('fact-folder-cache-'), 'file');
    writeFileSync(notAFolder, 'x');
    const f = await openSaeFolder(dir, { cacheRoot: notAFolder });
    await assert.rejects(writeConsistency(f, report, Uint8Array.of(1)), (e: unknown) => {
      assert.ok(isFactError(e));
      assert.equal(e.code, 'not-writable');
      assert.ok(e.message.includes(`'${f.out}'`), e.message);
      assert.match(e.message, /Set FACT_CACHE to another folder or pass --out DIR\./);
      return true;
    });
    assert.ok(!existsSync(path.join(dir, derivedFiles.consistency)), 'nothing fell back into the checkpoint folder');
  });

  it("a writer of derived files holds the folder's lock: another process is refused by name, a dead one's lock is taken over, this process takes turns", async () => {
    const dir = await checkpoint();
    const f = await openSaeFolder(dir, { cacheRoot: tempDir('fact-folder-cache-') });
    const lockFile = path.join(f.out, LOCK_FILE);
    mkdirSync(f.out, { recursive: true });
    const left = (pid: number) =>
      writeFileSync(
        lockFile,
        JSON.stringify({ pid, host: os.hostname(), startedAt: '2026-01-01T00:00:00Z', command: 'fact concepts m --sae s' }),
      );
    // A live process of this host (our parent) holds it: refused, naming it, and nothing is written.
    left(process.ppid);
    await assert.rejects(
      withDerivedWriter(
        f,
        'fact evaluate m --sae s',
        () => undefined,
        () => writeConsistency(f, report, Uint8Array.of(1)),
      ),
      (e: unknown) =>
        isFactError(e) &&
        e.code === 'locked' &&
        e.message.includes(`being written by another job: PID ${process.ppid} on ${os.hostname()}`) &&
        e.message.includes('`fact concepts m --sae s`'),
    );
    assert.equal(await readConsistency(f), undefined);
    // Its holder died (a SIGKILL): taken over with a note, written, released.
    left(spawnSync(process.execPath, ['-e', '0']).pid!);
    const notes: string[] = [];
    await withDerivedWriter(
      f,
      'fact consistency m --sae s',
      (m) => notes.push(m),
      async () => {
        assert.equal(JSON.parse(readFileSync(lockFile, 'utf8')).command, 'fact consistency m --sae s');
        await writeConsistency(f, report, Uint8Array.of(1));
      },
    );
    assert.match(notes.join('\n'), /Taking over the lock .* no longer runs/);
    assert.ok(await readConsistency(f));
    assert.ok(!existsSync(lockFile), 'released');
    // Two writers of this process: the second starts once the first has finished.
    const order: string[] = [];
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((r) => {
      releaseFirst = r;
    });
    let firstStarted!: () => void;
    const started = new Promise<void>((r) => {
      firstStarted = r;
    });
    const first = withDerivedWriter(
      f,
      'a',
      () => undefined,
      async () => {
        order.push('a starts');
        firstStarted();
        await firstHolds;
        order.push('a ends');
      },
    );
    await started;
    const second = withDerivedWriter(
      f,
      'b',
      () => undefined,
      async () => {
        order.push('b starts');
      },
    );
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['a starts', 'a ends', 'b starts']);
  });

  it('a folder that cannot hold the lock is named with how to choose another', async () => {
    const dir = await checkpoint();
    const notAFolder = path.join(tempDir('fact-folder-cache-'), 'file');
    writeFileSync(notAFolder, 'x');
    const f = await openSaeFolder(dir, { cacheRoot: notAFolder });
    await assert.rejects(
      withDerivedWriter(
        f,
        'x',
        () => undefined,
        async () => undefined,
      ),
      (e: unknown) => isFactError(e) && e.code === 'not-writable' && e.message.includes(`'${f.out}'`) && /pass --out DIR/.test(e.message),
    );
  });

  it('the dataset an evaluation summary names is checked before it is opened: a split name, absolute paths, a folder, regular files', async () => {
    const dir = await checkpoint();
    const f = await openSaeFolder(dir, { cacheRoot: tempDir('fact-folder-cache-') });
    const data = tempDir('fact-folder-data-');
    const images = path.join(data, 'images.idx');
    writeFileSync(images, 'x');
    await writeEvaluation(f, async (file) => writeFileSync(file, 'records'), {
      dataset: { kind: 'idx', images, labels: images },
      datasetSource: images,
      metrics,
      evaluatedAt: '2026-01-01T00:00:00.000Z',
    });
    const file = path.join(f.out, derivedFiles.evaluationJson);
    const written = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(await recordedDatasetOnDisk((await readEvaluation(f))!), { kind: 'idx', images, labels: images });
    const refused = async (dataset: unknown, field: string, why: RegExp, stage: 'read' | 'disk') => {
      writeFileSync(file, JSON.stringify({ ...written, dataset }));
      const check = async () => recordedDatasetOnDisk((await readEvaluation(f))!);
      await assert.rejects(stage === 'read' ? readEvaluation(f) : check(), (e: unknown) => {
        assert.ok(isFactError(e), String(e));
        assert.ok(e.message.includes(`'${file}'`) && e.message.includes(`"dataset.${field}"`), e.message);
        assert.match(e.message, why);
        return true;
      });
    };
    await refused({ kind: 'idx', images: '/dev/zero', labels: images }, 'images', /is not a regular file/, 'disk');
    await refused({ kind: 'idx', images, labels: '../../../etc/passwd' }, 'labels', /is not an absolute path/, 'read');
    await refused({ kind: 'folder', path: images }, 'path', /is not a folder/, 'disk');
    await refused({ kind: 'folder', path: path.join(data, 'gone') }, 'path', /does not exist/, 'disk');
    await refused({ kind: 'folder', path: 7 }, 'path', /is not an absolute path/, 'read');
    await refused({ kind: 'split', split: '../test' }, 'split', /is not the name of a split/, 'read');
    await refused({ kind: 'url', path: 'http://x' }, 'kind', /is none of/, 'read');
  });

  it('the CLI cache: $FACT_CACHE, else $XDG_CACHE_HOME/fact-vscode, else ~/.cache/fact-vscode', () => {
    assert.equal(defaultCacheRoot({ FACT_CACHE: '/c' }, '/home/u'), '/c');
    assert.equal(defaultCacheRoot({ XDG_CACHE_HOME: '/x' }, '/home/u'), '/x/fact-vscode');
    assert.equal(defaultCacheRoot({}, '/home/u'), '/home/u/.cache/fact-vscode');
  });
});
