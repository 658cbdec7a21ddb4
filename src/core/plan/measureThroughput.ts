// This machine's throughputs for `fact plan`: collection (explanation-mode forward and backward to the layer plus
// sampling, per image, on random inputs of the model's input size) and SAE training (vectors/s of the real
// training step on random vectors of the layer's width).
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Explainer } from '../engine/explainer';
import { ArrayVectorSource } from '../features/vectorSource';
import { sampleLocations } from '../features/sampleLocations';
import type { ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import type { ExecutionProvider } from '../onnx/session';
import { trainSae } from '../sae/trainer';

/** Images per second: one warm-up batch, then `batches` timed batches. */
export async function measureCollection(
  ctx: ModelContext,
  explainer: Explainer,
  layerName: string,
  o: { batchSize: number; batches: number; samplesPerImage: number },
): Promise<{ imagesPerSecond: number; dim: number; locations: number }> {
  const layer = resolveModelLayer(ctx, layerName);
  const shape = explainer.shapeOf(layer.tensor).slice(1);
  const dim = shape.length === 3 ? shape[0]! : shape[1]!;
  const locations = shape.length === 3 ? shape[1]! * shape[2]! : shape[0]!;
  const per = ctx.imageInput.channels * ctx.preprocess.centerCrop ** 2;
  const x = new Float32Array(per * o.batchSize);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = s / 4294967296;
  }
  const once = async () => {
    const r = await explainer.layerGradients(x, o.batchSize, 'predicted', [layer.tensor]);
    const f = r.features[layer.tensor]!.data;
    const g = r.gradients[layer.tensor]!.data;
    for (let b = 0; b < o.batchSize; b++) {
      const w = new Float64Array(locations);
      for (let i = 0; i < dim * locations; i++) w[i % locations]! += f[b * dim * locations + i]! * g[b * dim * locations + i]!;
      sampleLocations(w.map(Math.abs), Math.min(o.samplesPerImage, locations), b);
    }
  };
  await once();
  const t0 = performance.now();
  for (let i = 0; i < o.batches; i++) await once();
  return { imagesPerSecond: (o.batches * o.batchSize) / ((performance.now() - t0) / 1000), dim, locations };
}

/** Vectors per second of SAE training steps (the trainer's own figure, over `steps` steps after a warm-up). */
export async function measureTraining(o: {
  dim: number;
  k: number;
  dictSize: number;
  batchSize: number;
  steps: number;
  executionProvider?: ExecutionProvider;
  threads?: number;
}): Promise<number> {
  const data = new Float32Array((o.steps + 1) * o.batchSize * o.dim);
  let s = 777;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s / 4294967296 - 0.5;
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fact-plan-'));
  try {
    let rate = 0;
    await trainSae(
      new ArrayVectorSource(data, o.dim),
      {
        k: o.k,
        dictSize: o.dictSize,
        layer: 'plan',
        modelSha256: 'plan',
        batchSize: o.batchSize,
        epochs: 1,
        warmupEpochs: 0,
        constantUntilEpoch: 1,
      },
      {
        checkpointDir: dir,
        ...(o.executionProvider ? { executionProvider: o.executionProvider } : {}),
        ...(o.threads ? { threads: o.threads } : {}),
        onProgress: (t) => {
          rate = t.vectorsPerSecond;
        },
      },
    );
    return rate;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
