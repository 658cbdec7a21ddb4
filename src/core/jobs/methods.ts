// The operations the editor and the CLI ask of the core, with their parameter and result types declared once.
// The worker thread dispatches on these names; the CLI calls the same handlers in-process.
import { decodeImageFile } from '../data/imageDecode';
import { isFactError, throwIfAborted } from '../errors';
import { inspectModel, type ModelInspection } from '../model/inspectModel';
import { predictImages, type Prediction } from '../model/predict';
import type { CoreServices } from './services';

export interface ImagePrediction { image: string; prediction?: Prediction; error?: string }

export interface CoreMethods {
  inspect: { params: { model: string }; result: ModelInspection };
  predict: { params: { model: string; images: string[]; top?: number }; result: { model: string; executionProvider?: string; results: ImagePrediction[] } };
}
export type MethodName = keyof CoreMethods;

export interface CallContext {
  signal: AbortSignal;
  progress: (message: string, fraction?: number) => void;
}

type Handlers = { [M in MethodName]: (params: CoreMethods[M]['params'], services: CoreServices, call: CallContext) => Promise<CoreMethods[M]['result']> };

export const handlers: Handlers = {
  async inspect({ model }, services) {
    return inspectModel(await services.model(model), services.runner);
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
