// Run by the placement test in a child process with FACT_ORT_LOG_SEVERITY=0, so onnxruntime prints where it placed
// each node. Opens (and runs once) every kind of graph the product runs, on WebGPU, each after a marker line.
import * as path from 'node:path';
import { Explainer } from '../../src/core/engine/explainer';
import { openModel } from '../../src/core/model/modelContext';
import { resolveModelLayer } from '../../src/core/model/modelLayers';
import { SaeEncoder } from '../../src/core/sae/saeEncoder';
import { TrainStepSession } from '../../src/core/sae/trainStepSession';
import { seededNormal } from '../../src/core/sae/initialWeights';
import { randomSae } from './naiveSae';
import { defaultModelDir } from './paths';

const mark = (graph: string) => process.stderr.write(`\nFACT-GRAPH ${graph}\n`);

(async () => {
  const ep = { executionProvider: 'webgpu' as const };
  const ctx = await openModel(path.join(defaultModelDir, 'model.onnx'));
  const x = new Float32Array(2 * 1568).fill(0.5);
  mark('explanation');
  const ex = await Explainer.create(ctx, ep);
  await ex.explain(x, 2);
  mark('layer gradients (collection)');
  await ex.layerGradients(x, 2, 'predicted', ['layer3']);
  mark('traces (atlas, C², concepts)');
  const size = ex
    .shapeOf(resolveModelLayer(ctx, 'layer3').tensor)
    .slice(1)
    .reduce((a, d) => a * d, 1);
  await ex.traceFromLayer(x.subarray(0, 1568), 'layer3', new Float32Array(2 * size).fill(0.1), 2);
  await ex.dispose();
  mark('SAE encoder (TopK)');
  const sae = randomSae(16, 64, 4, 1);
  const enc = await SaeEncoder.create(sae, ep);
  await enc.encode(new Float32Array(8 * 16).fill(0.3), 8);
  await enc.dispose();
  mark('SAE training step (TopK, AuxK, Adam)');
  const n = seededNormal(1);
  const f = (len: number) => Float32Array.from({ length: len }, n);
  const step = await TrainStepSession.open(
    { dModel: 16, dictSize: 64, k: 4, auxkMax: 8, auxkCoef: 1 / 32, clipNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, auxK: true },
    ep,
  );
  await step.run({
    x: f(8 * 16),
    batch: 8,
    lr: 1e-3,
    deadCandidates: new Uint8Array(64).fill(1),
    state: {
      wEnc: f(1024),
      wDec: f(1024),
      mEnc: new Float32Array(1024),
      vEnc: new Float32Array(1024),
      mDec: new Float32Array(1024),
      vDec: new Float32Array(1024),
      step: 0,
    },
  });
  await step.dispose();
  mark('end');
})().catch((e) => {
  process.stderr.write(`probe failed: ${(e as Error).stack}\n`);
  process.exitCode = 1;
});
