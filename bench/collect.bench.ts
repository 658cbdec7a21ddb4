// Feature collection throughput (images/s) on the default model, against the forward pass alone on the same images
// (collection also runs the explanation-mode backward to the layer, samples locations and writes shards), and at
// layer4 of the full-width B-cos ResNet-50 (models/.bench/resnet50-bench.onnx, which explain.bench exports) on
// synthetic 224² PNGs.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Dataset } from '../src/core/data/dataset';
import { openImageFolder } from '../src/core/data/imageFolder';
import { openDataset } from '../src/core/data/openDataset';
import { preprocessImage } from '../src/core/data/preprocess';
import { Explainer } from '../src/core/engine/explainer';
import { collectFeatures } from '../src/core/features/collect';
import { openModel } from '../src/core/model/modelContext';
import { ModelRunner } from '../src/core/model/modelRunner';
import { benchSession } from './benchProvider';
import type { BenchRow } from './runOne';

/** This process's CPU seconds since `from` (all its threads: onnxruntime's, libuv's, the main one). */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1e6;
};

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
  let c0 = process.cpuUsage();
  for (let from = 0; from < images; from += batch) {
    for (let i = 0; i < batch; i++) x.set(preprocessImage(await dataset.image(from + i), ctx.preprocess), i * per);
    await runner.run(ctx, x, batch, ['layer3']);
  }
  const forward = images / ((performance.now() - t0) / 1000);
  const forwardCpu = cpuSince(c0);
  const explainer = await Explainer.create(ctx, benchSession(2));
  for (const [layer, dtype] of [
    ['layer3', 'float16'],
    ['layer4', 'float16'],
    ['layer2', 'float32'],
  ] as const) {
    // A fresh folder per run: two benches running at once must not share (and delete) each other's store.
    const out = mkdtempSync(path.join(os.tmpdir(), `fact-bench-collect-${layer}-`));
    t0 = performance.now();
    c0 = process.cpuUsage();
    const m = await collectFeatures(ctx, explainer, { layer, dataset, outDir: out, dtype, limit: images, batchSize: batch });
    const rate = images / ((performance.now() - t0) / 1000);
    report({
      name: `collect ${layer} (${m.samplesPerImage} locations/image, ${dtype})`,
      ours: rate,
      reference: forward,
      referenceName: 'the forward pass alone',
      unit: 'images/s',
      note: `${m.vectors} vectors in ${m.shards.length} shards; CPU s collection ${cpuSince(c0).toFixed(2)} vs forward ${forwardCpu.toFixed(2)} (CPU ratio ${(forwardCpu / cpuSince(c0)).toFixed(2)}); load avg ${os.loadavg()[0]!.toFixed(1)}`,
    });
    rmSync(out, { recursive: true, force: true });
  }
  await runner.dispose();
  await explainer.dispose();
  await resnet50Layer4(report);
}

/** Forward alone (decode, preprocess, run) against collection at layer4, on the same images and batch size. */
async function resnet50Layer4(report: (r: BenchRow) => void): Promise<void> {
  const onnx = path.join(__dirname, '..', 'models', '.bench', 'resnet50-bench.onnx');
  const name = 'collect ResNet-50 layer4';
  if (!existsSync(onnx)) {
    report({
      name,
      ours: 0,
      unit: 'images/s',
      note: `skipped: ${onnx} is exported by explain.bench (npm run bench -- explain), which runs after this one`,
    });
    return;
  }
  const images = 32;
  const batch = 8;
  const root = mkdtempSync(path.join(os.tmpdir(), 'fact-bench-r50-images-'));
  mkdirSync(path.join(root, 'any'));
  for (let i = 0; i < images; i++) {
    const pixels = Uint8Array.from({ length: 224 * 224 * 3 }, (_, p) => (p * (i + 7) * 2654435761) >>> 24);
    await sharp(pixels, { raw: { width: 224, height: 224, channels: 3 } })
      .png()
      .toFile(path.join(root, 'any', `${i}.png`));
  }
  const ctx = await openModel(onnx);
  const dataset: Dataset = await openImageFolder(root, 'rgb');
  const runner = new ModelRunner(benchSession(2));
  const per = ctx.imageInput.channels * 224 * 224;
  const x = new Float32Array(batch * per);
  await runner.run(ctx, x, batch, ['layer4']); // session and memory warm-up
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  for (let from = 0; from < images; from += batch) {
    for (let i = 0; i < batch; i++) x.set(preprocessImage(await dataset.image(from + i), ctx.preprocess), i * per);
    await runner.run(ctx, x, batch, ['layer4']);
  }
  const forward = images / ((performance.now() - t0) / 1000);
  const forwardCpu = cpuSince(c0);
  await runner.dispose();
  const explainer = await Explainer.create(ctx, benchSession(2));
  await explainer.layerGradients(x, batch, 'predicted', ['layer4']); // the explanation graph built outside the timing
  const out = mkdtempSync(path.join(os.tmpdir(), 'fact-bench-collect-r50-'));
  t0 = performance.now();
  c0 = process.cpuUsage();
  const m = await collectFeatures(ctx, explainer, {
    layer: 'layer4',
    dataset,
    outDir: out,
    dtype: 'float16',
    limit: images,
    batchSize: batch,
  });
  const rate = images / ((performance.now() - t0) / 1000);
  const collectCpu = cpuSince(c0);
  report({
    name: `${name} (${m.samplesPerImage} of 49 locations/image, float16)`,
    ours: rate,
    reference: forward,
    referenceName: 'the forward pass alone',
    unit: 'images/s',
    note: `${images} synthetic 224² PNGs, batch ${batch}; CPU s collection ${collectCpu.toFixed(1)} vs forward ${forwardCpu.toFixed(1)} (CPU ratio ${(forwardCpu / collectCpu).toFixed(2)}); load avg ${os.loadavg()[0]!.toFixed(1)}`,
  });
  await explainer.dispose();
  rmSync(out, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
}
