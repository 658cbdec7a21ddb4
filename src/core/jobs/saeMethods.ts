// The core's operations with an SAE: train it on a feature store, evaluate the model with it, build its concept
// atlas, measure its concepts' C² consistency, and explain a decision through its concepts.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { atlasConcept, buildAtlas, currentAtlas, readAtlas, type AtlasConcept } from '../concepts/atlas';
import { explainDecision, type DecisionExplanation } from '../concepts/explainDecision';
import { FoundationModel } from '../consistency/foundationModel';
import { measureConsistency, type ConsistencyReport } from '../consistency/measureConsistency';
import { decodeImageFile } from '../data/imageDecode';
import { openDataset, type DatasetSpec } from '../data/openDataset';
import { FactError } from '../errors';
import { evaluateSae } from '../evaluate/evaluate';
import { loadEvaluationRecords, saveEvaluationRecords } from '../evaluate/evaluationFile';
import { FeatureStore } from '../features/featureStore';
import type { ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import { histogramPng } from '../render/histogram';
import { rgbaToPng } from '../render/png';
import { checkpointFiles } from '../sae/checkpoint';
import { trainSae, type TrainProgress, type TrainResult } from '../sae/trainer';
import { SaeEncoder } from '../sae/saeEncoder';
import type { SaeWeights } from '../sae/saeConfig';
import { sha256Hex } from '../util/sha256';
import { writeFileAtomic } from '../util/files';
import { renderExplainReport, type ReportSection } from '../report/explainReport';
import { decisionReportView, explainReportView, saeShortName, stripReportView, type StripReportView } from '../report/reportViews';
import { version } from '../../../package.json';
import type { CallContext } from './callContext';
import { formatSeconds, modelHandlers } from './modelMethods';
import { besideCheckpoint, openSaeContext, readEvaluationSummary, writeJson, type EvaluationSummary, type SaeContext } from './saeContext';
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
  skipDamagedShards?: boolean;
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

export interface SaeMethods {
  train: { params: TrainParams; result: Omit<TrainResult, 'weights'> };
  evaluate: { params: { model: string; sae: string; dataset?: DatasetSpec; limit?: number }; result: EvaluationSummary };
  concepts: { params: { model: string; sae: string; rebuild?: boolean }; result: { atlasDir: string; concepts: number; alive: number; rebuilt: boolean; seconds: number } };
  concept: { params: { model: string; sae: string; concept: number }; result: AtlasConcept & { stripPng?: string; c2?: number; c2Random?: number } };
  consistency: { params: { model: string; sae: string; foundation?: string; meanImages?: number }; result: ConsistencyReport & { histogram: string } };
  explainConcepts: { params: { model: string; sae: string; image: string; classIndex?: number; html?: string; topConcepts?: number }; result: DecisionResult };
  /** Several images through concepts, with one combined HTML report. */
  explainConceptsReport: { params: { model: string; sae: string; images: string[]; classIndex?: number; html?: string; topConcepts?: number }; result: { results: DecisionResult[]; html?: string } };
}

type Handlers = { [M in keyof SaeMethods]: (params: SaeMethods[M]['params'], services: CoreServices, call: CallContext) => Promise<SaeMethods[M]['result']> };

/** The evaluation dataset by default: the card's test split when the model ships one. */
function defaultDataset(ctx: ModelContext, given?: DatasetSpec): DatasetSpec {
  if (given) return given;
  if (ctx.card?.data?.test) return { kind: 'split', split: 'test' };
  throw new FactError('bad-dataset', `Give a dataset: '${ctx.file}' ships no test split.`, { file: ctx.file });
}

async function withSae<T>(services: CoreServices, model: string, sae: string, run: (ctx: ModelContext, s: SaeContext) => Promise<T>): Promise<T> {
  const ctx = await services.model(model);
  const s = await openSaeContext(ctx, sae, services.options.executionProvider);
  try {
    return await run(ctx, s);
  } finally {
    await s.dispose();
  }
}

/** Evaluation records for the current checkpoint, or a clear request to evaluate first. */
async function currentRecords(s: SaeContext) {
  const summary = await readEvaluationSummary(s.dir);
  const file = path.join(s.dir, besideCheckpoint.evaluation);
  // The records are large and not shipped with the default SAE; their hash ties them to the summary.
  const why = !summary ? 'has not been evaluated yet'
    : summary.checkpointSha256 !== s.sha256 ? 'has changed since it was last evaluated'
    : !existsSync(file) ? `has no per-image evaluation records (${besideCheckpoint.evaluation})`
    : sha256Hex(await fs.readFile(file)) !== summary.recordsSha256 ? 'has evaluation records that do not match its evaluation summary'
    : undefined;
  if (why) throw new FactError('not-evaluated', `The SAE in '${s.dir}' ${why}: run \`fact evaluate\` (or FaCT: Evaluate) first.`, { file: s.dir });
  return { summary: summary!, records: await loadEvaluationRecords(file) };
}

export const saeHandlers: Handlers = {
  async train(p, services, call) {
    // One run per checkpoint folder at a time: a resume asked for right after a cancel waits until the cancelled
    // run has finished saving its state, instead of reading it half-written.
    const key = path.resolve(p.out);
    const previous = trainingRuns.get(key);
    if (previous) await previous.catch(() => undefined);
    const run = trainOnce(p, services, call);
    trainingRuns.set(key, run);
    try {
      return await run;
    } finally {
      if (trainingRuns.get(key) === run) trainingRuns.delete(key);
    }
  },

  async evaluate({ model, sae, dataset, limit }, services, call) {
    return withSae(services, model, sae, async (ctx, s) => {
      const spec = defaultDataset(ctx, dataset);
      const data = await openDataset(ctx, spec);
      const explainer = await services.explainer(model);
      const { metrics, records } = await evaluateSae(ctx, services.runner, explainer, {
        layer: s.sae.cfg.layer, dataset: data, sae: s.sae, encode: s.encode, keepRecords: true, signal: call.signal, ...(limit ? { limit } : {}),
        onProgress: (d, t) => call.progress(`Evaluated ${d}/${t} images`, d / t),
      });
      const file = path.join(s.dir, besideCheckpoint.evaluation);
      await saveEvaluationRecords(file, records!);
      const summary: EvaluationSummary = { checkpointSha256: s.sha256, dataset: spec, datasetSource: data.source, metrics, recordsSha256: sha256Hex(await fs.readFile(file)), evaluatedAt: new Date().toISOString() };
      await writeJson(path.join(s.dir, besideCheckpoint.evaluationJson), summary);
      // The checkpoint's own cfg.json carries its headline numbers, for the tree view and for Python users.
      const cfgFile = path.join(s.dir, checkpointFiles.cfg);
      const cfg = JSON.parse(await fs.readFile(cfgFile, 'utf8'));
      cfg.evaluation = { dataset: data.source, ...metrics };
      await writeJson(cfgFile, cfg);
      return summary;
    });
  },

  async concepts({ model, sae, rebuild }, services, call) {
    return withSae(services, model, sae, async (ctx, s) => {
      const t0 = Date.now();
      // An atlas made from this checkpoint and its latest evaluation is current: no need to read the records.
      const latest = await readEvaluationSummary(s.dir);
      let atlas = rebuild || !latest || latest.checkpointSha256 !== s.sha256 ? undefined : await currentAtlas(s.dir, s.sha256, latest.recordsSha256);
      const rebuilt = !atlas;
      if (!atlas) {
        const { summary, records } = await currentRecords(s);
        const explainer = await services.explainer(model);
        atlas = await buildAtlas(ctx, services.runner, explainer, {
          checkpointDir: s.dir, checkpointSha256: s.sha256, evaluationSha256: summary.recordsSha256, sae: s.sae, encode: s.encode, records,
          dataset: await openDataset(ctx, summary.dataset), signal: call.signal, onProgress: (d, t) => call.progress(`Tracing concepts: ${d}/${t} images`, d / t),
        });
      }
      return { atlasDir: path.join(s.dir, 'atlas'), concepts: atlas.dictSize, alive: atlas.concepts.filter((c) => c.images > 0).length, rebuilt, seconds: (Date.now() - t0) / 1000 };
    });
  },

  async concept({ model, sae, concept }, services, call) {
    // Fast path (the editor opens concepts often): a current atlas is read without loading the SAE or its records.
    const ctx = await services.model(model);
    const cfg = JSON.parse(await fs.readFile(path.join(sae, checkpointFiles.cfg), 'utf8').catch(() => '{}')) as { modelSha256?: string };
    const sha = existsSync(path.join(sae, checkpointFiles.weights)) ? sha256Hex(await fs.readFile(path.join(sae, checkpointFiles.weights))) : '';
    const latest = await readEvaluationSummary(sae);
    let atlas = cfg.modelSha256 === ctx.loaded.sha256 && latest?.checkpointSha256 === sha ? await currentAtlas(sae, sha, latest.recordsSha256) : undefined;
    if (!atlas) {
      await saeHandlers.concepts({ model, sae }, services, call);
      atlas = (await readAtlas(sae))!;
    }
    const built = { atlasDir: path.join(sae, 'atlas') };
    const c = atlasConcept(atlas, concept);
    const consistencyFile = path.join(sae, besideCheckpoint.consistency);
    let c2: { score?: number; random?: number } = {};
    if (existsSync(consistencyFile)) {
      const report = JSON.parse(await fs.readFile(consistencyFile, 'utf8')) as ConsistencyReport & { checkpointSha256?: string };
      const hit = report.concepts.find((x) => x.concept === concept);
      if (hit) c2 = { score: hit.score, random: hit.random };
    }
    return {
      ...c,
      ...(c.strip ? { stripPng: (await fs.readFile(path.join(built.atlasDir, c.strip))).toString('base64') } : {}),
      ...(c2.score !== undefined ? { c2: c2.score, c2Random: c2.random! } : {}),
    };
  },

  async consistency({ model, sae, foundation, meanImages }, services, call) {
    return withSae(services, model, sae, async (ctx, s) => {
      const { summary, records } = await currentRecords(s);
      const file = foundation ?? (ctx.card?.foundation ? path.join(path.dirname(ctx.file), String(ctx.card.foundation)) : undefined);
      if (!file) throw new FactError('bad-input', `Name a foundation model (an ONNX feature extractor such as DINOv2 exported by models/recipes/export.py): '${ctx.file}' ships none.`);
      const fm = await FoundationModel.open(file, services.options);
      try {
        const explainer = await services.explainer(model);
        const report = await measureConsistency(ctx, services.runner, explainer, {
          layer: s.sae.cfg.layer, sae: s.sae, encode: s.encode, records, dataset: await openDataset(ctx, summary.dataset), foundation: fm, signal: call.signal,
          ...(meanImages ? { meanImages } : {}),
          onProgress: (d, t, stage) => call.progress(`C² ${stage}: ${d}/${t}`, d / t),
        });
        const png = await histogramPng(report.concepts.map((c) => c.score), { random: report.randomMean, mean: report.mean });
        await writeFileAtomic(path.join(s.dir, besideCheckpoint.histogram), png);
        await writeJson(path.join(s.dir, besideCheckpoint.consistency), { ...report, checkpointSha256: s.sha256 });
        const cfgFile = path.join(s.dir, checkpointFiles.cfg);
        const cfg = JSON.parse(await fs.readFile(cfgFile, 'utf8'));
        cfg.consistency = { foundation: path.basename(file), mean: report.mean, randomMean: report.randomMean, deltaRandom: report.deltaRandom, concepts: report.conceptsInMean };
        await writeJson(cfgFile, cfg);
        return { ...report, histogram: png.toString('base64') };
      } finally {
        await fm.dispose();
      }
    });
  },

  async explainConcepts({ model, sae, image, classIndex, html, topConcepts }, services, call) {
    return withSae(services, model, sae, async (ctx, s) => {
      const result = await decisionOf(services, ctx, s, model, image, call, classIndex, topConcepts);
      if (html) await writeReport(html, services, ctx, s, model, [result], call);
      return { ...result, ...(html ? { html } : {}) };
    });
  },

  async explainConceptsReport({ model, sae, images, classIndex, html, topConcepts }, services, call) {
    return withSae(services, model, sae, async (ctx, s) => {
      const results: DecisionResult[] = [];
      for (const image of images) results.push(await decisionOf(services, ctx, s, model, image, call, classIndex, topConcepts));
      if (html) await writeReport(html, services, ctx, s, model, results, call);
      return { results, ...(html ? { html } : {}) };
    });
  },
};


const trainingRuns = new Map<string, Promise<SaeMethods['train']['result']>>();

async function trainOnce(p: TrainParams, services: CoreServices, call: CallContext): Promise<SaeMethods['train']['result']> {
  const ctx = await services.model(p.model);
  const store = await FeatureStore.open(p.features, { expect: { modelSha256: ctx.loaded.sha256 }, onBadShard: p.skipDamagedShards ? 'skip' : 'stop', onSkip: (s, why) => call.progress(`Skipping damaged shard ${s}: ${why}`) });
  const layer = resolveModelLayer(ctx, store.manifest.layer.name);
  let validate: ((w: SaeWeights) => Promise<number>) | undefined;
  if (p.validation) {
    const explainer = await services.explainer(p.model);
    const data = await openDataset(ctx, p.validation.dataset);
    validate = async (weights) => {
      const encoder = await SaeEncoder.create(weights);
      try {
        const { metrics } = await evaluateSae(ctx, services.runner, explainer, { layer: layer.label, dataset: data, sae: weights, encode: (v, n) => encoder.encode(v, n), offset: p.validation!.offset ?? 0, ...(p.validation!.limit ? { limit: p.validation!.limit } : {}), signal: call.signal });
        call.progress(`validation: accuracy with the SAE ${(100 * metrics.accuracyWithSae).toFixed(2)}% (without ${(100 * metrics.accuracy).toFixed(2)}%)`);
        return metrics.accuracyWithSae;
      } finally {
        await encoder.dispose();
      }
    };
  }
  await fs.mkdir(p.out, { recursive: true });
  let last: TrainProgress | undefined;
  const r = await trainSae(store, {
    k: p.k, dictSize: p.dictSize, layer: layer.label, modelSha256: ctx.loaded.sha256,
    ...(p.epochs ? { epochs: p.epochs } : {}), ...(p.batchSize ? { batchSize: p.batchSize } : {}), ...(p.lr ? { lr: p.lr } : {}), ...(p.seed !== undefined ? { seed: p.seed } : {}),
  }, {
    checkpointDir: p.out, signal: call.signal, resume: p.resume ?? true, ...(services.options.executionProvider ? { executionProvider: services.options.executionProvider } : {}),
    ...(validate ? { validate } : {}),
    onProgress: (t: TrainProgress) => (last = t, call.progress(`epoch ${t.epoch + 1} step ${t.step}/${t.totalSteps}: loss ${t.loss.toPrecision(4)}, FVU ${t.fvu.toFixed(4)}, L0 ${t.l0.toFixed(1)}, dead ${t.dead}, ${Math.round(t.vectorsPerSecond)} vectors/s, ETA ${formatSeconds(t.etaSeconds)}`, t.step / t.totalSteps,
      { kind: 'train', step: t.step, totalSteps: t.totalSteps, epoch: t.epoch, loss: t.loss, fvu: t.fvu, l0: t.l0, dead: t.dead, lr: t.lr, vectorsPerSecond: t.vectorsPerSecond, etaSeconds: t.etaSeconds, ...(t.validation !== undefined ? { validation: t.validation } : {}) })),
  });
  // The checkpoint records where its training vectors came from (the store's manifest, summarised).
  const cfgFile = path.join(p.out, checkpointFiles.cfg);
  const cfg = JSON.parse(await fs.readFile(cfgFile, 'utf8'));
  cfg.collection = collectionSummary(store.manifest);
  // The last reported averages: what the curves ended at.
  if (last) cfg.metrics = { ...(cfg.metrics ?? {}), fvu: last.fvu, loss: last.loss, l0: last.l0, dead: last.dead };
  await writeJson(cfgFile, cfg);
  const { weights: _w, ...rest } = r;
  return rest;
}

function collectionSummary(m: FeatureStore['manifest']) {
  return {
    dataset: m.dataset.source, images: m.imagesDone, layer: m.layer.name, samplesPerImage: m.samplesPerImage, weighting: m.weighting,
    dtype: m.dtype, vectors: m.vectors, seed: m.seed, skipped: m.skipped.length,
  };
}

async function decisionOf(services: CoreServices, ctx: ModelContext, s: SaeContext, model: string, image: string, call: CallContext, classIndex?: number, topConcepts?: number): Promise<DecisionResult> {
  const explainer = await services.explainer(model);
  const raw = await decodeImageFile(image, ctx.preprocess.colorSpace);
  call.progress(`Explaining ${path.basename(image)} through concepts`);
  const d = await explainDecision(ctx, services.runner, explainer, s.sae, s.encode, raw, { ...(classIndex !== undefined ? { classIndex } : {}), ...(topConcepts ? { topConcepts } : {}) });
  const scale = Math.max(1, Math.floor(168 / d.side));
  const [input, full, other, ...traces] = await Promise.all([d.input, d.full.trace, d.other.trace, ...d.traced.map((t) => t.trace)].map((i) => rgbaToPng(i, scale)));
  const { traced, other: o, full: f, input: _i, ...rest } = d;
  return {
    model, image, sae: s.dir,
    explanation: {
      ...rest,
      traced: traced.map(({ trace: _t, ...t }, i) => ({ ...t, png: traces[i]!.toString('base64') })),
      other: { concepts: o.concepts, contribution: o.contribution, share: o.share, png: other!.toString('base64') },
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
async function writeReport(file: string, services: CoreServices, ctx: ModelContext, s: SaeContext, model: string, results: DecisionResult[], call: CallContext): Promise<void> {
  const modelName = ctx.card?.displayName ?? path.basename(model);
  const latest = await readEvaluationSummary(s.dir);
  const atlas = latest?.checkpointSha256 === s.sha256 ? await currentAtlas(s.dir, s.sha256, latest.recordsSha256) : undefined;
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
        view: decisionReportView(r, saeShortName(model, s.dir), s.sae.cfg.layer, seconds), strips,
        ...(atlas ? {} : { stripsNote: 'The top dataset images of each concept appear here once the SAE is evaluated and its concept atlas built (fact concepts).' }),
      },
    });
  }
  await writeFileAtomic(file, renderExplainReport(sections, { generatedAt: new Date(), tool: `fact ${version} (FaCT command line)`, executionProvider: services.options.executionProvider ?? 'cpu' }));
}
