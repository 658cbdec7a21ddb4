// The core's operations with an SAE: train it on a feature store, evaluate the model with it, build its concept
// atlas, measure its concepts' C² consistency, and explain a decision through its concepts.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { atlasConcept, buildAtlas, type Atlas, type AtlasConcept } from '../concepts/atlas';
import { explainDecision, type DecisionExplanation } from '../concepts/explainDecision';
import { FoundationModel } from '../consistency/foundationModel';
import { measureConsistency, type ConsistencyReport } from '../consistency/measureConsistency';
import { decodeImageFile } from '../data/imageDecode';
import { absoluteDataset, openDataset, type DatasetSpec } from '../data/openDataset';
import { FactError } from '../errors';
import { evaluateSae } from '../evaluate/evaluate';
import { loadEvaluationRecords, saveEvaluationRecords, type EvaluationRecords } from '../evaluate/evaluationFile';
import { FeatureStore } from '../features/featureStore';
import { VerifiedShards, verifiedShardsFile } from '../features/verifiedShards';
import type { ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import { histogramPng } from '../render/histogram';
import { rgbaToPng } from '../render/png';
import { deleteTrainState, hasTrainState } from '../sae/checkpoint';
import { trainSae, type TrainProgress, type TrainResult, type ValidationScore } from '../sae/trainer';
import { SaeEncoder } from '../sae/saeEncoder';
import type { SaeInit, SaeWeights } from '../sae/saeConfig';
import { containedPath } from '../util/containedFile';
import { writeFileAtomic } from '../util/files';
import { withWriterLock } from '../util/writerLock';
import { cardPathFor } from '../model/card';
import { renderExplainReport, type ReportSection } from '../report/explainReport';
import { decisionReportView, explainReportView, saeShortName, stripReportView, type StripReportView } from '../report/reportViews';
import { version } from '../../../package.json';
import type { CallContext } from './callContext';
import { formatSeconds, modelHandlers } from './modelMethods';
import {
  amendCheckpointCfg,
  checkpointFiles,
  atlasWriter,
  evaluationRecordsFile,
  openSaeFolder,
  readAtlasStrip,
  readConsistency,
  readCurrentAtlas,
  readEvaluation,
  recordedDatasetOnDisk,
  withDerivedWriter,
  writeConsistency,
  writeEvaluation,
  type DerivedLocation,
  type EvaluationSummary,
} from '../sae/saeFolder';
import { openSaeContext, type SaeContext } from './saeContext';
import type { CoreServices } from './services';

export interface TrainParams {
  model: string;
  features: string;
  out: string;
  k: number;
  dictSize: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Held-out images scored for accuracy with the SAE; the checkpoint keeps the best. */
  validation?: { dataset: DatasetSpec; offset?: number; limit?: number };
  resume?: boolean;
  /** Train afresh even where the folder holds a finished SAE or another run's state. */
  overwrite?: boolean;
  /** Train on a store whose collection did not finish (a warning is still given). */
  allowIncomplete?: boolean;
  skipDamagedShards?: boolean;
  /** Starting dictionary (default 'isotropic'; 'fact' reproduces FaCT's). */
  init?: SaeInit;
  /** Seconds between saves of the resumable state (besides every epoch end); default 180. */
  stateEverySeconds?: number;
}

export interface DecisionResult {
  model: string;
  image: string;
  sae: string;
  explanation: Omit<DecisionExplanation, 'traced' | 'other' | 'full' | 'input'> & {
    traced: (Omit<DecisionExplanation['traced'][number], 'trace'> & { png: string })[];
    other: Omit<DecisionExplanation['other'], 'trace'> & { png: string };
    full: { png: string; contributionMapSum: number };
    input: string;
  };
  html?: string;
}

/**
 * Where a checkpoint's derived files (evaluation, atlas, C²) go: `out` when given, else the cache below `cacheRoot`
 * (the caller's, else the process's default: src/core/sae/saeFolder.ts). Never the checkpoint folder.
 */
export interface DerivedParams {
  out?: string;
  cacheRoot?: string;
}

export interface SaeMethods {
  train: { params: TrainParams; result: Omit<TrainResult, 'weights'> };
  evaluate: {
    params: { model: string; sae: string; dataset?: DatasetSpec; limit?: number } & DerivedParams;
    result: EvaluationSummary & { out: string };
  };
  concepts: {
    params: { model: string; sae: string; rebuild?: boolean } & DerivedParams;
    result: { atlasDir: string; concepts: number; alive: number; rebuilt: boolean; evaluated: boolean; seconds: number };
  };
  concept: {
    params: { model: string; sae: string; concept: number } & DerivedParams;
    result: AtlasConcept & { stripPng?: string; c2?: number; c2Random?: number };
  };
  consistency: {
    params: { model: string; sae: string; foundation?: string; meanImages?: number } & DerivedParams;
    result: ConsistencyReport & { histogram: string; out: string; evaluated: boolean };
  };
  explainConcepts: {
    params: { model: string; sae: string; image: string; classIndex?: number; html?: string; topConcepts?: number };
    result: DecisionResult;
  };
  /** Several images through concepts, with one combined HTML report. */
  explainConceptsReport: {
    params: { model: string; sae: string; images: string[]; classIndex?: number; html?: string; topConcepts?: number };
    result: { results: DecisionResult[]; html?: string };
  };
}

type Handlers = {
  [M in keyof SaeMethods]: (params: SaeMethods[M]['params'], services: CoreServices, call: CallContext) => Promise<SaeMethods[M]['result']>;
};

/** The evaluation dataset by default: the card's test split when the model ships one. */
function defaultDataset(ctx: ModelContext, given?: DatasetSpec): DatasetSpec {
  if (given) return given;
  if (ctx.card?.data?.test) return { kind: 'split', split: 'test' };
  throw new FactError('bad-dataset', `Give a dataset: '${ctx.file}' ships no test split.`, { file: ctx.file });
}

/** The derived files' location for a call: its own `out`/`cacheRoot`, else the process's. */
function derivedLocation(services: CoreServices, p: DerivedParams): DerivedLocation {
  if (p.out) return { out: p.out, howToChange: 'Pass --out a folder you can write to.' };
  return { cacheRoot: p.cacheRoot ?? services.cache.root, howToChange: services.cache.howToChange };
}

async function withSae<T>(
  services: CoreServices,
  model: string,
  sae: string,
  where: DerivedParams,
  run: (ctx: ModelContext, s: SaeContext) => Promise<T>,
): Promise<T> {
  const ctx = await services.model(model);
  const s = await openSaeContext(ctx, sae, derivedLocation(services, where), services.options);
  try {
    return await run(ctx, s);
  } finally {
    await s.dispose();
  }
}

/** Evaluation records of the current checkpoint, or why there are none. */
async function currentRecords(s: SaeContext): Promise<Evaluated | { why: string }> {
  const e = await readEvaluation(s.folder);
  if (!e) return { why: 'has not been evaluated yet' };
  const r = await evaluationRecordsFile(e);
  if ('missing' in r) return { why: r.missing };
  // The summary may have come with a shared checkpoint: the dataset it names is checked before it is opened.
  return { summary: e.summary, records: await loadEvaluationRecords(r.file), dataset: await recordedDatasetOnDisk(e) };
}

/** An evaluation's summary and records, and the dataset it ran over (to open again for the atlas and C²). */
interface Evaluated {
  summary: EvaluationSummary;
  records: EvaluationRecords;
  dataset: DatasetSpec;
}

/** The current evaluation's records. Without one, evaluates first on the card's test split (a fresh install), as
 *  `fact evaluate` would; a card with no test split needs the user to name a dataset: a clear request to evaluate.
 *  Called holding the derived folder's writer lock. */
async function recordsEvaluatingFirst(
  services: CoreServices,
  ctx: ModelContext,
  s: SaeContext,
  model: string,
  call: CallContext,
): Promise<Evaluated & { evaluated: boolean }> {
  const known = await currentRecords(s);
  if (!('why' in known)) return { ...known, evaluated: false };
  if (!ctx.card?.data?.test) {
    throw new FactError(
      'not-evaluated',
      `The SAE in '${s.dir}' ${known.why} and '${ctx.file}' ships no test split to evaluate it on: run \`fact evaluate --data DIR\` (or FaCT: Evaluate SAE) first.`,
      { file: s.dir },
    );
  }
  call.progress(`The SAE ${known.why}: evaluating it first on the model card's test split`);
  return { ...(await evaluateInto(services, ctx, s, model, call)), evaluated: true };
}

/** Evaluates the model with the SAE and saves the summary and per-image records into the derived folder. */
async function evaluateInto(
  services: CoreServices,
  ctx: ModelContext,
  s: SaeContext,
  model: string,
  call: CallContext,
  dataset?: DatasetSpec,
  limit?: number,
): Promise<Evaluated> {
  const spec = absoluteDataset(defaultDataset(ctx, dataset));
  const data = await openDataset(ctx, spec);
  const explainer = await services.explainer(model);
  const { metrics, records } = await evaluateSae(ctx, services.runner, explainer, {
    layer: s.sae.cfg.layer,
    dataset: data,
    sae: s.sae,
    encode: s.encode,
    keepRecords: true,
    signal: call.signal,
    ...(limit ? { limit } : {}),
    onProgress: (d, t) => call.progress(`Evaluated ${d}/${t} images`, d / t),
  });
  const summary = await writeEvaluation(s.folder, (file) => saveEvaluationRecords(file, records!), {
    dataset: spec,
    datasetSource: data.source,
    metrics,
    evaluatedAt: new Date().toISOString(),
  });
  return { summary, records: records!, dataset: spec };
}

export const saeHandlers: Handlers = {
  async train(p, services, call) {
    // One run per checkpoint folder at a time: a resume asked for right after a cancel waits until the cancelled
    // run has finished saving its state, instead of reading it half-written.
    const key = path.resolve(p.out);
    const previous = trainingRuns.get(key);
    if (previous) await previous.catch(() => undefined);
    const run = withWriterLock(
      p.out,
      `fact train ${p.model} --features ${p.features} --out ${p.out} --k ${p.k} --dict-size ${p.dictSize}`,
      (m) => call.progress(m),
      () => trainOnce(p, services, call),
    );
    trainingRuns.set(key, run);
    try {
      return await run;
    } finally {
      if (trainingRuns.get(key) === run) trainingRuns.delete(key);
    }
  },

  async evaluate({ model, sae, dataset, limit, ...where }, services, call) {
    // The summary and records go to the derived folder; the checkpoint's cfg.json is left as it is.
    return withSae(services, model, sae, where, (ctx, s) =>
      withDerivedWriter(
        s.folder,
        `fact evaluate ${model} --sae ${sae}`,
        (m) => call.progress(m),
        async () => ({ ...(await evaluateInto(services, ctx, s, model, call, dataset, limit)).summary, out: s.folder.out }),
      ),
    );
  },

  async concepts({ model, sae, rebuild, ...where }, services, call) {
    return withSae(services, model, sae, where, async (ctx, s) => {
      const t0 = Date.now();
      // An atlas made from this checkpoint and its latest evaluation is current: no need to read the records.
      const ready = rebuild ? undefined : await readCurrentAtlas(s.folder);
      const readyNow = (a: { atlas: Atlas; dir: string }) => ({
        atlasDir: a.dir,
        concepts: a.atlas.dictSize,
        alive: a.atlas.concepts.filter((c) => c.images > 0).length,
        rebuilt: false,
        evaluated: false,
        seconds: (Date.now() - t0) / 1000,
      });
      if (ready) return readyNow(ready);
      return withDerivedWriter(
        s.folder,
        `fact concepts ${model} --sae ${sae}`,
        (m) => call.progress(m),
        async () => {
          // Another call of this process may have built it while this one waited for the folder.
          const builtMeanwhile = rebuild ? undefined : await readCurrentAtlas(s.folder);
          if (builtMeanwhile) return readyNow(builtMeanwhile);
          // The atlas is made of the evaluation's records: evaluate first when they are missing (a fresh install).
          const { summary, records, dataset, evaluated } = await recordsEvaluatingFirst(services, ctx, s, model, call);
          const explainer = await services.explainer(model);
          const atlas = await buildAtlas(ctx, services.runner, explainer, {
            writer: atlasWriter(s.folder),
            checkpointSha256: s.sha256,
            evaluationSha256: summary.recordsSha256,
            sae: s.sae,
            encode: s.codes,
            records,
            dataset: await openDataset(ctx, dataset),
            signal: call.signal,
            // Tracing is most of the time; drawing and writing the strips the rest.
            onProgress: (d, t, stage) =>
              stage === 'tracing'
                ? call.progress(`Tracing concepts: ${d}/${t} images`, (0.8 * d) / t)
                : call.progress(`Drawing concept strips: ${d}/${t}`, 0.8 + (0.2 * d) / t),
          });
          const built = (await readCurrentAtlas(s.folder))!;
          return {
            atlasDir: built.dir,
            concepts: atlas.dictSize,
            alive: atlas.concepts.filter((c) => c.images > 0).length,
            rebuilt: true,
            evaluated,
            seconds: (Date.now() - t0) / 1000,
          };
        },
      );
    });
  },

  async concept({ model, sae, concept, ...where }, services, call) {
    // Fast path (the editor opens concepts often): a current atlas is read without loading the SAE or its records.
    const ctx = await services.model(model);
    const folder = await openSaeFolder(sae, derivedLocation(services, where));
    let found = folder.modelSha256 === ctx.loaded.sha256 ? await readCurrentAtlas(folder) : undefined;
    if (!found) {
      await saeHandlers.concepts({ model, sae, ...where }, services, call);
      found = (await readCurrentAtlas(folder))!;
    }
    const c = atlasConcept(found.atlas, concept);
    const hit = (await readConsistency(folder))?.report.concepts.find((x) => x.concept === concept);
    const strip = await readAtlasStrip(found.dir, c);
    return {
      ...c,
      ...(strip ? { stripPng: strip.toString('base64') } : {}),
      ...(hit ? { c2: hit.score, c2Random: hit.random } : {}),
    };
  },

  async consistency({ model, sae, foundation, meanImages, ...where }, services, call) {
    return withSae(services, model, sae, where, (ctx, s) =>
      withDerivedWriter(
        s.folder,
        `fact consistency ${model} --sae ${sae}`,
        (m) => call.progress(m),
        async () => {
          const { records, dataset, evaluated } = await recordsEvaluatingFirst(services, ctx, s, model, call);
          const file =
            foundation ??
            (ctx.card?.foundation
              ? containedPath(
                  path.dirname(ctx.file),
                  ctx.card.foundation,
                  { file: cardPathFor(ctx.file), field: 'foundation', code: 'bad-card' },
                  true,
                )
              : undefined);
          if (!file)
            throw new FactError(
              'bad-input',
              `Name a foundation model (an ONNX feature extractor such as DINOv2 exported by models/recipes/export.py): '${ctx.file}' ships none.`,
            );
          const fm = await FoundationModel.open(file, services.options);
          try {
            const explainer = await services.explainer(model);
            const report = await measureConsistency(ctx, services.runner, explainer, {
              layer: s.sae.cfg.layer,
              sae: s.sae,
              encode: s.encode,
              records,
              dataset: await openDataset(ctx, dataset),
              foundation: fm,
              signal: call.signal,
              ...(meanImages ? { meanImages } : {}),
              onProgress: (d, t, stage) => call.progress(`C² ${stage}: ${d}/${t}`, d / t),
            });
            const png = await histogramPng(
              report.concepts.map((c) => c.score),
              { random: report.randomMean, mean: report.mean },
            );
            // The report and histogram go to the derived folder; the checkpoint's cfg.json is left as it is.
            await writeConsistency(s.folder, report, png);
            return { ...report, histogram: png.toString('base64'), out: s.folder.out, evaluated };
          } finally {
            await fm.dispose();
          }
        },
      ),
    );
  },

  async explainConcepts({ model, sae, image, classIndex, html, topConcepts }, services, call) {
    return withSae(services, model, sae, {}, async (ctx, s) => {
      const result = await decisionOf(services, ctx, s, model, image, call, classIndex, topConcepts);
      if (html) await writeReport(html, services, ctx, s, model, [result], call);
      return { ...result, ...(html ? { html } : {}) };
    });
  },

  async explainConceptsReport({ model, sae, images, classIndex, html, topConcepts }, services, call) {
    return withSae(services, model, sae, {}, async (ctx, s) => {
      const results: DecisionResult[] = [];
      for (const image of images) results.push(await decisionOf(services, ctx, s, model, image, call, classIndex, topConcepts));
      if (html) await writeReport(html, services, ctx, s, model, results, call);
      return { results, ...(html ? { html } : {}) };
    });
  },
};

const trainingRuns = new Map<string, Promise<SaeMethods['train']['result']>>();

async function trainOnce(p: TrainParams, services: CoreServices, call: CallContext): Promise<SaeMethods['train']['result']> {
  // A finished checkpoint is not silently retrained (an unfinished one resumes when its settings match).
  const finished = existsSync(path.join(p.out, checkpointFiles.cfg)) && !hasTrainState(p.out);
  if (finished && !p.overwrite) {
    throw new FactError(
      'bad-checkpoint',
      `'${p.out}' already holds a trained SAE; train into another folder, or overwrite it (fact train --overwrite).`,
      { file: p.out },
    );
  }
  if (p.overwrite) await deleteTrainState(p.out);
  const ctx = await services.model(p.model);
  // Shards verified before (by an earlier run or `fact verify`) are remembered in the cache and not hashed again.
  const verified = await VerifiedShards.open(await verifiedShardsFile(services.cache.root, p.features), p.features);
  const store = await FeatureStore.open(p.features, {
    expect: { modelSha256: ctx.loaded.sha256 },
    onBadShard: p.skipDamagedShards ? 'skip' : 'stop',
    onSkip: (s, why) => call.progress(`Skipping damaged shard ${s}: ${why}`),
    verified,
  });
  const m = store.manifest;
  if (!m.complete) {
    const state = `its collection stopped after ${m.imagesDone} of ${m.dataset.images} images (${m.vectors} vectors)`;
    if (!p.allowIncomplete)
      throw new FactError(
        'bad-store',
        `The feature store '${p.features}' is incomplete: ${state}. Finish it by running the same \`fact collect\` again, or train on what it holds with --allow-incomplete.`,
        { file: p.features },
      );
    call.progress(`warning: the feature store '${p.features}' is incomplete: ${state}; training on what it holds.`);
  }
  if (m.order !== 'shuffled') {
    call.progress(
      `note: '${p.features}' was collected in dataset order; batches mix the rows of 4 shards at a time, so if the dataset is sorted by class they hold few classes. Collecting again (images are visited in a seeded random order by default now) gives well-mixed batches.`,
    );
  }
  const layer = resolveModelLayer(ctx, store.manifest.layer.name);
  let validate: ((w: SaeWeights) => Promise<ValidationScore>) | undefined;
  if (p.validation) {
    const explainer = await services.explainer(p.model);
    const data = await openDataset(ctx, p.validation.dataset);
    validate = async (weights) => {
      const encoder = await SaeEncoder.create(weights, services.options);
      try {
        const { metrics } = await evaluateSae(ctx, services.runner, explainer, {
          layer: layer.label,
          dataset: data,
          sae: weights,
          encode: (v, n) => encoder.encode(v, n),
          offset: p.validation!.offset ?? 0,
          ...(p.validation!.limit ? { limit: p.validation!.limit } : {}),
          signal: call.signal,
        });
        const acc = metrics.accuracyWithSae;
        // One standard error of an accuracy on n images: differences below it are noise (see selectionRule).
        const tolerance = Math.sqrt((acc * (1 - acc)) / Math.max(metrics.images, 1));
        call.progress(
          `validation: accuracy with the SAE ${(100 * acc).toFixed(2)}% ± ${(100 * tolerance).toFixed(2)} (without ${(100 * metrics.accuracy).toFixed(2)}%)`,
        );
        return { score: acc, tolerance };
      } finally {
        await encoder.dispose();
      }
    };
  }
  await fs.mkdir(p.out, { recursive: true });
  const r = await trainSae(
    store,
    {
      k: p.k,
      dictSize: p.dictSize,
      layer: layer.label,
      modelSha256: ctx.loaded.sha256,
      ...(p.epochs ? { epochs: p.epochs } : {}),
      ...(p.batchSize ? { batchSize: p.batchSize } : {}),
      ...(p.lr ? { lr: p.lr } : {}),
      ...(p.seed !== undefined ? { seed: p.seed } : {}),
      ...(p.init ? { init: p.init } : {}),
    },
    {
      checkpointDir: p.out,
      signal: call.signal,
      resume: p.resume ?? true,
      ...(services.options.executionProvider ? { executionProvider: services.options.executionProvider } : {}),
      ...(services.options.threads ? { threads: services.options.threads } : {}),
      ...(p.stateEverySeconds !== undefined ? { stateIntervalMs: p.stateEverySeconds * 1000 } : {}),
      ...(validate ? { validate } : {}),
      onProgress: (t: TrainProgress) =>
        call.progress(
          `epoch ${t.epoch + 1} step ${t.step}/${t.totalSteps}: loss ${t.loss.toPrecision(4)}, FVU ${t.fvu.toFixed(4)}, L0 ${t.l0.toFixed(1)}, dead ${t.dead}, ${Math.round(t.vectorsPerSecond)} vectors/s, ETA ${formatSeconds(t.etaSeconds)}`,
          t.step / t.totalSteps,
          {
            kind: 'train',
            step: t.step,
            totalSteps: t.totalSteps,
            epoch: t.epoch,
            loss: t.loss,
            fvu: t.fvu,
            l0: t.l0,
            dead: t.dead,
            lr: t.lr,
            vectorsPerSecond: t.vectorsPerSecond,
            etaSeconds: t.etaSeconds,
            ...(t.validation !== undefined ? { validation: t.validation } : {}),
          },
        ),
    },
  );
  // The checkpoint records where its training vectors came from (the store's manifest, summarised).
  await amendCheckpointCfg(p.out, (cfg) => {
    cfg.collection = collectionSummary(store.manifest);
  });
  const { weights: _w, ...rest } = r;
  return rest;
}

function collectionSummary(m: FeatureStore['manifest']) {
  return {
    dataset: m.dataset.source,
    images: m.imagesDone,
    layer: m.layer.name,
    samplesPerImage: m.samplesPerImage,
    weighting: m.weighting,
    dtype: m.dtype,
    vectors: m.vectors,
    seed: m.seed,
    skipped: m.skipped.length,
  };
}

async function decisionOf(
  services: CoreServices,
  ctx: ModelContext,
  s: SaeContext,
  model: string,
  image: string,
  call: CallContext,
  classIndex?: number,
  topConcepts?: number,
): Promise<DecisionResult> {
  const explainer = await services.explainer(model);
  const raw = await decodeImageFile(image, ctx.preprocess.colorSpace);
  call.progress(`Explaining ${path.basename(image)} through concepts`);
  const d = await explainDecision(ctx, services.runner, explainer, s.sae, s.encode, raw, {
    ...(classIndex !== undefined ? { classIndex } : {}),
    ...(topConcepts ? { topConcepts } : {}),
  });
  const scale = Math.max(1, Math.floor(168 / d.side));
  const [input, full, other, ...traces] = await Promise.all(
    [d.input, d.full.trace, d.other.trace, ...d.traced.map((t) => t.trace)].map((i) => rgbaToPng(i, scale)),
  );
  const { traced, other: o, full: f, input: _i, ...rest } = d;
  return {
    model,
    image,
    sae: s.dir,
    explanation: {
      ...rest,
      traced: traced.map(({ trace: _t, ...t }, i) => ({ ...t, png: traces[i]!.toString('base64') })),
      other: {
        concepts: o.concepts,
        contribution: o.contribution,
        share: o.share,
        shareOfLogit: o.shareOfLogit,
        png: other!.toString('base64'),
      },
      full: { png: full!.toString('base64'), contributionMapSum: f.contributionMapSum },
      input: input!.toString('base64'),
    },
  };
}

/**
 * The HTML report of decisions through concepts, as the Explain panel exports it: per image the plain B-cos
 * explanation of the same class, the decision through the SAE, and each traced concept's top dataset images when
 * the SAE's atlas is current (the report never builds it: `fact concepts` does).
 */
async function writeReport(
  file: string,
  services: CoreServices,
  ctx: ModelContext,
  s: SaeContext,
  model: string,
  results: DecisionResult[],
  call: CallContext,
): Promise<void> {
  const modelName = ctx.card?.displayName ?? path.basename(model);
  const atlas = await readCurrentAtlas(s.folder);
  const sections: ReportSection[] = [];
  for (const r of results) {
    const t0 = Date.now();
    const plain = await modelHandlers.explain({ model, image: r.image, classIndex: r.explanation.classIndex }, services, call);
    const strips: StripReportView[] = [];
    if (atlas) {
      for (const t of r.explanation.traced) {
        const c = await saeHandlers.concept({ model, sae: s.dir, concept: t.concept }, services, call);
        if (c.stripPng) strips.push(stripReportView({ ...c, stripPng: c.stripPng }));
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    sections.push({
      explain: explainReportView(plain, modelName, seconds),
      concepts: {
        view: decisionReportView(r, saeShortName(model, s.dir), s.sae.cfg.layer, seconds),
        strips,
        ...(atlas
          ? {}
          : {
              stripsNote:
                'The top dataset images of each concept appear here once the SAE is evaluated and its concept atlas built (fact concepts).',
            }),
      },
    });
  }
  await writeFileAtomic(
    file,
    renderExplainReport(sections, {
      generatedAt: new Date(),
      tool: `fact ${version} (FaCT command line)`,
      executionProvider: services.options.executionProvider ?? 'cpu',
    }),
  );
}
