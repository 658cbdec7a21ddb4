// The core's operations on a model alone (no SAE): inspect, predict, explain (and preparing it), check, collect.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImageFile } from '../data/imageDecode';
import { openDataset, type DatasetSpec } from '../data/openDataset';
import { preprocessImage } from '../data/preprocess';
import { withWriterLock } from '../util/writerLock';
import { collectFeatures, type CollectProgress } from '../features/collect';
import type { CollectionOrder } from '../features/collectionOrder';
import type { FeatureDtype, FeatureManifest } from '../features/manifest';
import { checkModel, type CheckReport } from '../engine/checkModel';
import { explainImage, type ImageExplanation } from '../engine/explainImage';
import { rgbaToPng, sideBySide } from '../render/png';
import { writeFileAtomic } from '../util/files';
import { encodeNpy } from '../util/npy';
import { isFactError, throwIfAborted } from '../errors';
import { inspectModel, type ModelInspection } from '../model/inspectModel';
import { predictImages, type Prediction } from '../model/predict';
import type { CallContext } from './callContext';
import type { CoreServices } from './services';

export interface ImagePrediction {
  image: string;
  prediction?: Prediction;
  error?: string;
}

export type ExplanationSummary = Omit<ImageExplanation, 'images' | 'arrays'>;
export interface ExplainResult {
  model: string;
  image: string;
  explanation: ExplanationSummary;
  /** PNGs as base64: the input, the B-cos colour explanation, the signed contribution map. */
  png: { input: string; explanation: string; contributions: string };
  /** Files written when an output folder was given. */
  files: string[];
}

export interface ModelMethods {
  explain: { params: { model: string; image: string; classIndex?: number; outDir?: string }; result: ExplainResult };
  check: { params: { model: string; images?: string[] }; result: CheckReport };
  collect: {
    params: {
      model: string;
      layer: string;
      dataset: DatasetSpec;
      outDir: string;
      dtype?: FeatureDtype;
      samplesPerImage?: number;
      budgetGB?: number;
      shardVectors?: number;
      seed?: number;
      order?: CollectionOrder;
      limit?: number;
    };
    result: FeatureManifest;
  };
  inspect: { params: { model: string }; result: ModelInspection };
  /** Builds (or loads from the graph cache) and runs once the explanation sessions, so the next `explain` is fast. */
  prepareExplanation: { params: { model: string }; result: { seconds: number } };
  predict: {
    params: { model: string; images: string[]; top?: number };
    result: { model: string; executionProvider?: string; results: ImagePrediction[] };
  };
}
type Handlers = {
  [M in keyof ModelMethods]: (
    params: ModelMethods[M]['params'],
    services: CoreServices,
    call: CallContext,
  ) => Promise<ModelMethods[M]['result']>;
};

export const modelHandlers: Handlers = {
  async explain({ model, image, classIndex, outDir }, services, call) {
    const ctx = await services.model(model);
    call.progress('Analysing the model');
    const explainer = await services.explainer(model);
    const raw = await decodeImageFile(image, ctx.preprocess.colorSpace);
    call.progress('Explaining');
    const { images, arrays, ...explanation } = await explainImage(ctx, explainer, raw, classIndex);
    const scale = Math.max(1, Math.floor(224 / explanation.width));
    const [input, colour, contributions] = await Promise.all(
      [images.input, images.explanation, images.contributions].map((i) => rgbaToPng(i, scale)),
    );
    const files: string[] = [];
    if (outDir) {
      const stem = path.basename(image).replace(/\.[^.]+$/, '');
      const cls = explanation.className.replace(/[^A-Za-z0-9._-]+/g, '_');
      const target = path.join(outDir, `${stem}-${cls}-explanation.png`);
      const panel = path.join(outDir, `${stem}-${cls}-panel.png`);
      await fs.mkdir(outDir, { recursive: true });
      await writeFileAtomic(target, colour!);
      // B-cos explanations are shown on black, where their transparent (non-contributing) pixels read as "nothing".
      const onBlack = await sharp(colour!).flatten({ background: '#000000' }).png().toBuffer();
      await writeFileAtomic(panel, await sideBySide([input!, onBlack, contributions!]));
      // The raw arrays (C×H×W float32 .npy), to compare with one's own PyTorch code.
      const wx = path.join(outDir, `${stem}-${cls}-wx.npy`);
      const xwx = path.join(outDir, `${stem}-${cls}-x-times-wx.npy`);
      await writeFileAtomic(wx, encodeNpy(arrays.weights, arrays.dims));
      await writeFileAtomic(xwx, encodeNpy(arrays.contributions, arrays.dims));
      files.push(target, panel, wx, xwx);
    }
    return {
      model,
      image,
      explanation,
      png: { input: input!.toString('base64'), explanation: colour!.toString('base64'), contributions: contributions!.toString('base64') },
      files,
    };
  },

  async collect({ model, dataset, ...rest }, services, call) {
    const ctx = await services.model(model);
    const explainer = await services.explainer(model);
    const data = await openDataset(ctx, dataset);
    const progress = (p: CollectProgress) =>
      call.progress(
        `${p.imagesDone}/${p.images} images, ${p.vectors} vectors, ${p.imagesPerSecond.toFixed(1)} images/s, ETA ${formatSeconds(p.etaSeconds)}`,
        p.imagesDone / p.images,
        { kind: 'collect', ...p },
      );
    // One writer per store: a second collection into the same folder would interleave shards.
    return withWriterLock(
      rest.outDir,
      `fact collect ${model} --layer ${rest.layer} --out ${rest.outDir}`,
      (m) => call.progress(m),
      () => collectFeatures(ctx, explainer, { ...rest, dataset: data, signal: call.signal, onProgress: progress }),
    );
  },

  async check({ model, images = [] }, services) {
    const ctx = await services.model(model);
    const inputs: Float32Array[] = [];
    for (const image of images) inputs.push(preprocessImage(await decodeImageFile(image, ctx.preprocess.colorSpace), ctx.preprocess));
    return checkModel(ctx, inputs, services.options);
  },

  async inspect({ model }, services) {
    return inspectModel(await services.model(model), services.runner);
  },

  async prepareExplanation({ model }, services) {
    const t0 = performance.now();
    await (await services.explainer(model)).prepare();
    return { seconds: (performance.now() - t0) / 1000 };
  },

  async predict({ model, images, top = 5 }, services, call) {
    const ctx = await services.model(model);
    const results: ImagePrediction[] = [];
    for (const [k, image] of images.entries()) {
      throwIfAborted(call.signal, 'Prediction');
      call.progress(`Predicting ${image}`, k / images.length);
      try {
        const raw = await decodeImageFile(image, ctx.preprocess.colorSpace);
        const [prediction] = await predictImages(ctx, services.runner, [raw], top);
        results.push({ image, prediction: prediction! });
      } catch (e) {
        // One bad image must not hide the others' results: it is reported in its own row.
        if (!isFactError(e) || (e.code !== 'bad-image' && e.code !== 'file-missing')) throw e;
        results.push({ image, error: e.message });
      }
    }
    return { model, results };
  },
};

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
