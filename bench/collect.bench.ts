// Feature collection throughput (images/s) on the default model, against the forward pass alone on the same images
// (collection also runs the explanation-mode backward to the layer, samples locations and writes shards).
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataset } from '../src/core/data/openDataset';
import { preprocessImage } from '../src/core/data/preprocess';
import { Explainer } from '../src/core/engine/explainer';
import { collectFeatures } from '../src/core/features/collect';
import { openModel } from '../src/core/model/modelContext';
import { ModelRunner } from '../src/core/model/modelRunner';
import { benchSession } from './benchProvider';
import type { BenchRow } from './runOne';

export async function run(report: (r: BenchRow) => void): Promise<void> {
  const model = path.join(__dirname, '..', 'models', 'fashion-mnist-bcos', 'model.onnx');
  const ctx = await openModel(model);
  const dataset = await openDataset(ctx, { kind: 'split', split: 'train' });
  const images = 2048;
  const batch = 32;
  const runner = new ModelRunner(benchSession(2));
  const per = 2 * 28 * 28;
  const x = new Float32Array(batch * per);
  let t0 = performance.now();
  for (let from = 0; from < images; from += batch) {
    for (let i = 0; i < batch; i++) x.set(preprocessImage(await dataset.image(from + i), ctx.preprocess), i * per);
    await runner.run(ctx, x, batch, ['layer3']);
  }
  const forward = images / ((performance.now() - t0) / 1000);
  const explainer = await Explainer.create(ctx, benchSession(2));
  for (const [layer, dtype] of [['layer3', 'float16'], ['layer4', 'float16'], ['layer2', 'float32']] as const) {
    // A fresh folder per run: two benches running at once must not share (and delete) each other's store.
    const out = mkdtempSync(path.join(os.tmpdir(), `fact-bench-collect-${layer}-`));
    t0 = performance.now();
    const m = await collectFeatures(ctx, explainer, { layer, dataset, outDir: out, dtype, limit: images, batchSize: batch });
    const rate = images / ((performance.now() - t0) / 1000);
    report({ name: `collect ${layer} (${m.samplesPerImage} locations/image, ${dtype})`, ours: rate, reference: forward, referenceName: 'the forward pass alone', unit: 'images/s', note: `${m.vectors} vectors in ${m.shards.length} shards` });
    rmSync(out, { recursive: true, force: true });
  }
  await runner.dispose();
  await explainer.dispose();
}
