// SAE training throughput (vectors/s) of our one-graph training step against PyTorch running the same step on the
// same CPU in the same run (models/recipes/bench_sae_torch.py, 2 threads each):
//   • the default model's layer shape: d = 128 (layer4 of fashion-mnist-bcos), 2048 latents (16× overcomplete, as
//     FaCT's layer4 SAE is 8×–16× for its widths), k = 16, 4096 vectors per step;
//   • FaCT's ResNet-50 layer4 shape: d = 2048, 16384 latents, k = 16, 1024 vectors per step (a few steps: slow here).
// Two PyTorch references: FaCT's own step (autograd through a dense B×K code buffer, the code FaCT trains with) and
// the same sparse step as our graph written by hand in PyTorch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { attr, GraphBuilder } from '../src/core/onnx/graphBuilder';
import { encodeModel } from '../src/core/onnx/modelFile';
import { openSession } from '../src/core/onnx/session';
import { ArrayVectorSource } from '../src/core/features/vectorSource';
import { initialState, seededNormal } from '../src/core/sae/initialWeights';
import { trainSae } from '../src/core/sae/trainer';
import { TrainStepSession } from '../src/core/sae/trainStepSession';
import { benchSession } from './benchProvider';
import type { BenchRow } from './runOne';
import { python, torchReference, type TorchReference } from './torchReference';

const script = path.join(__dirname, '..', 'models', 'recipes', 'bench_sae_torch.py');
const threads = 2;

interface Shape {
  label: string;
  d: number;
  K: number;
  k: number;
  B: number;
  steps: number;
  dead: number;
}

/** Median ms per step of our graph, with AuxK active when `dead` latents are candidates. */
async function oursMsPerStep(s: Shape): Promise<number> {
  const session = await TrainStepSession.open(
    {
      dModel: s.d,
      dictSize: s.K,
      k: s.k,
      auxK: s.dead > 0,
      auxkMax: 256,
      auxkCoef: 1 / 32,
      clipNorm: 1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
    },
    benchSession(threads),
  );
  const normal = seededNormal(1);
  const x = Float32Array.from({ length: s.B * s.d }, () => normal() / Math.sqrt(s.d));
  const dead = new Uint8Array(s.K);
  for (let j = 0; j < s.dead; j++) dead[j * Math.floor(s.K / s.dead)] = 1;
  let state = initialState(s.d, s.K, 0);
  const times: number[] = [];
  for (let i = 0; i <= s.steps; i++) {
    const t0 = performance.now();
    // In place, as the trainer runs it (PyTorch's optimiser also updates its tensors in place).
    const input = { x, batch: s.B, state, lr: 1e-3, inPlace: true, ...(s.dead > 0 ? { deadCandidates: dead } : {}) };
    state = (await session.run(input)).state;
    if (i > 0) times.push(performance.now() - t0); // the first run also plans the graph
  }
  await session.dispose();
  return median(times);
}

function torchMsPerStep(t: TorchReference, s: Shape, variant: 'fact' | 'sparse'): number | string {
  const args = [
    script,
    '--d',
    `${s.d}`,
    '--K',
    `${s.K}`,
    '--k',
    `${s.k}`,
    '--B',
    `${s.B}`,
    '--steps',
    `${s.steps}`,
    '--warmup',
    '1',
    '--dead',
    `${s.dead}`,
    '--threads',
    `${threads}`,
    '--variant',
    variant,
  ];
  const r = spawnSync(python, args, { encoding: 'utf8', env: t.env, cwd: mkdtempSync(path.join(tmpdir(), 'fact-bench-')) });
  if (r.status !== 0) return `PyTorch run failed: ${(r.stderr || '').trim().split('\n').pop()}`;
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms_per_step: number }).ms_per_step;
}

export async function run(report: (r: BenchRow) => void): Promise<void> {
  const shapes: Shape[] = [
    { label: 'default layer4 shape d=128 K=2048 k=16 B=4096', d: 128, K: 2048, k: 16, B: 4096, steps: 8, dead: 0 },
    { label: 'same, AuxK on (512 dead latents, k_aux=256)', d: 128, K: 2048, k: 16, B: 4096, steps: 8, dead: 512 },
    { label: 'ResNet-50 layer4 d=2048 K=16384 k=16 B=1024', d: 2048, K: 16384, k: 16, B: 1024, steps: 2, dead: 0 },
  ];
  const t = torchReference();
  console.log(t.summary);
  const setting = `PyTorch ${threads} threads; ours ${threads} intra-op threads; load avg ${loadavg()[0]!.toFixed(1)}`;
  for (const s of shapes) {
    const ms = await oursMsPerStep(s);
    const ours = (s.B / ms) * 1000;
    // The encoder product X·W_encᵀ (2·B·d·K FLOPs) is the only dense product of the sparse step.
    const gflops = (2 * s.B * s.d * s.K) / (ms / 1000) / 1e9;
    const rate = `ours ${gflops.toFixed(0)} GFLOP/s in the encoder product's terms`;
    if (!t.ok) {
      report({ name: `SAE train step, ${s.label}`, ours, unit: 'vectors/s', note: `no PyTorch reference: ${t.why}; ${rate}` });
      continue;
    }
    for (const variant of ['fact', 'sparse'] as const) {
      const big = s.d * s.K > 1e7;
      if (variant === 'fact' && big && !t.blasOptimised) {
        report({
          name: `SAE train step, ${s.label}`,
          ours,
          unit: 'vectors/s',
          note: `FaCT's dense PyTorch step skipped: with the reference BLAS it takes minutes per step (install libopenblas0-openmp); ${rate}`,
        });
        continue;
      }
      const torchMs = torchMsPerStep(t, s, variant);
      const referenceName = variant === 'fact' ? "PyTorch, FaCT's autograd step" : 'PyTorch, same sparse step by hand';
      if (typeof torchMs === 'string') report({ name: `SAE train step, ${s.label}`, ours, unit: 'vectors/s', note: torchMs });
      else
        report({
          name: `SAE train step, ${s.label}`,
          ours,
          reference: (s.B / torchMs) * 1000,
          referenceName,
          unit: 'vectors/s',
          referenceOptimised: t.blasOptimised,
          note: `${setting}; ${rate}`,
        });
    }
  }
  // The ceiling: the encoder product alone as one onnxruntime Gemm at FaCT's layer4 shape, same threads.
  const ceiling = await gemmGflops(1024, 2048, 16384);
  report({
    name: 'SGEMM alone, 1024×2048 · (16384×2048)ᵀ (the layer4 encoder product)',
    ours: ceiling,
    unit: 'GFLOP/s',
    note: `onnxruntime MLAS, ${threads} threads: this CPU's attainable float32 rate here (Zen 5 peak: 64 FLOP/cycle/core with AVX-512)`,
  });

  // End to end: trainSae on an in-memory source (input-scale pass, batch copies, counters, progress) at the small shape.
  const d = 128,
    count = 4096 * 12;
  const normal = seededNormal(3);
  const source = new ArrayVectorSource(
    Float32Array.from({ length: count * d }, () => normal()),
    d,
  );
  const t0 = performance.now();
  await trainSae(
    source,
    { k: 16, dictSize: 2048, layer: 'bench', modelSha256: '', batchSize: 4096, epochs: 1, warmupEpochs: 0, constantUntilEpoch: 0 },
    { checkpointDir: mkdtempSync(path.join(tmpdir(), 'fact-bench-')), ...benchSession(threads) },
  );
  report({
    name: 'trainSae end to end, d=128 K=2048 k=16, 12 batches of 4096',
    ours: (count / (performance.now() - t0)) * 1000,
    unit: 'vectors/s',
    note: 'includes the input-scale pass, session start and the checkpoint write',
  });
}

/** GFLOP/s of one onnxruntime Gemm [m,k]·[n,k]ᵀ (median of 3 after a warm-up). */
async function gemmGflops(m: number, k: number, n: number): Promise<number> {
  const g = new GraphBuilder('gemm');
  const a = g.input('a', 'float32', [m, k]);
  const b = g.input('b', 'float32', [n, k]);
  g.op('Gemm', [a, b], { transB: attr.int(1) }, 'y');
  g.output('y', 'float32', [m, n]);
  const opened = await openSession(encodeModel(g.model(17)), { threads });
  const normal = seededNormal(5);
  const feeds = {
    a: new ort.Tensor('float32', Float32Array.from({ length: m * k }, normal), [m, k]),
    b: new ort.Tensor('float32', Float32Array.from({ length: n * k }, normal), [n, k]),
  };
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    await opened.session.run(feeds);
    if (i > 0) times.push(performance.now() - t0);
  }
  await opened.session.release();
  return (2 * m * k * n) / (median(times) / 1000) / 1e9;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
