// The GPU figures of bench/gpu-device.sh, for one provider per run (the script runs it on the GPU and on all CPU
// cores of the same machine): on a ResNet-50-shape B-cos model (6×224×224), explanation latency (batch 1) and
// throughput (batch B), collection's work per image at layer4 (features and the logit's gradient there, what
// collection samples from; decoding and shard writing are not included), and SAE training steps at FaCT's shape
// (d 2048, 16,384 concepts, k 16, AuxK on, batch 4096). Prints one JSON object (and a table on stderr).
//   node gpuDevice.js --model resnet50-bench.onnx --ep webgpu|cuda|cpu [--threads N] [--batch 8] [--seconds 40]
//     [--sae d,K,k,B]   (default FaCT's 2048,16384,16,4096; smaller only to smoke-test the script)
import { Explainer } from '../src/core/engine/explainer';
import { openModel } from '../src/core/model/modelContext';
import { resolveModelLayer } from '../src/core/model/modelLayers';
import { trackProviders } from '../src/core/onnx/providerUsage';
import type { RequestedProvider, SessionOptions } from '../src/core/onnx/session';
import { initialState, seededNormal } from '../src/core/sae/initialWeights';
import { TrainStepSession } from '../src/core/sae/trainStepSession';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Runs `f` after one warm-up until `seconds` pass (at least 3 times); the median ms. */
async function timeIt(f: () => Promise<unknown>, seconds: number): Promise<{ ms: number; runs: number; firstMs: number }> {
  let t = performance.now();
  await f();
  const firstMs = performance.now() - t;
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (times.length < 3 || performance.now() < end) {
    t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  return { ms: median(times), runs: times.length, firstMs };
}

async function main(): Promise<void> {
  const ep = arg('ep') as RequestedProvider;
  const threads = Number(arg('threads', '0'));
  const batch = Number(arg('batch', '8'));
  const seconds = Number(arg('seconds', '20'));
  const options: SessionOptions = { executionProvider: ep, ...(threads ? { threads } : {}) };
  const figures: Record<string, unknown> = { ep, threads };
  const { ranOn } = await trackProviders(async () => {
    const ctx = await openModel(arg('model'));
    const explainer = await Explainer.create(ctx, options);
    const per = 6 * 224 * 224;
    const normal = seededNormal(1);
    const x = new Float32Array(batch * per);
    for (let b = 0; b < batch; b++)
      for (let p = 0; p < 3 * 224 * 224; p++) {
        const v = Math.min(1, Math.max(0, 0.5 + 0.25 * normal()));
        x[b * per + p] = v;
        x[b * per + 3 * 224 * 224 + p] = 1 - v;
      }
    const one = x.subarray(0, per);
    const latency = await timeIt(() => explainer.explain(one, 1), seconds);
    figures.explainLatencyMs = latency.ms;
    figures.explainFirstMs = latency.firstMs;
    const through = await timeIt(() => explainer.explain(x, batch), seconds);
    figures.explainImagesPerS = (batch / through.ms) * 1000;
    const layer = resolveModelLayer(ctx, 'layer4').tensor;
    const collect = await timeIt(() => explainer.layerGradients(x, batch, 'predicted', [layer]), seconds);
    figures.collectLayer4ImagesPerS = (batch / collect.ms) * 1000;
    await explainer.dispose();

    const [d, K, k, B] = arg('sae', '2048,16384,16,4096').split(',').map(Number) as [number, number, number, number];
    figures.sae = { d, K, k, B };
    const step = await TrainStepSession.open(
      { dModel: d, dictSize: K, k, auxK: true, auxkMax: 256, auxkCoef: 1 / 32, clipNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
      options,
    );
    const xs = Float32Array.from({ length: B * d }, () => normal() / Math.sqrt(d));
    const dead = new Uint8Array(K);
    for (let j = 0; j < K; j += 16) dead[j] = 1;
    let state = initialState(d, K, 0);
    const train = await timeIt(async () => {
      state = (await step.run({ x: xs, batch: B, state, lr: 1e-4, deadCandidates: dead })).state;
    }, seconds);
    figures.saeTrainVectorsPerS = (B / train.ms) * 1000;
    figures.saeTrainStepMs = train.ms;
    await step.dispose();
  });
  Object.assign(figures, ranOn);
  process.stderr.write(
    `${ep}${threads ? ` (${threads} threads)` : ''}: ran on ${ranOn.executionProvider}${ranOn.adapter ? ` (${ranOn.adapter})` : ''}${ranOn.fallbackReason ? ` — ${ranOn.fallbackReason}` : ''}\n`,
  );
  console.log(JSON.stringify(figures));
}

main().catch((e) => {
  console.error((e as Error).stack);
  process.exitCode = 1;
});
