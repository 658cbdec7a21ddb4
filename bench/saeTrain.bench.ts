// SAE training throughput (vectors/s) of our one-graph training step against PyTorch running the same step on the
// same CPU in the same run (models/recipes/bench_sae_torch.py, 2 threads each):
//   • the default model's layer shape: d = 128 (layer4 of fashion-mnist-bcos), 2048 latents (16× overcomplete, as
//     FaCT's layer4 SAE is 8×–16× for its widths), k = 16, 4096 vectors per step;
//   • FaCT's ResNet-50 layer4 shape: d = 2048, 16384 latents, k = 16, 1024 vectors per step (a few steps: slow here).
// Two PyTorch references: FaCT's own step (autograd through a dense B×K code buffer, the code FaCT trains with) and
// the same sparse step as our graph written by hand in PyTorch.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArrayVectorSource } from '../src/core/features/vectorSource';
import { initialState, seededNormal } from '../src/core/sae/initialWeights';
import { trainSae } from '../src/core/sae/trainer';
import { TrainStepSession } from '../src/core/sae/trainStepSession';
import { benchSession } from './benchProvider';
import type { BenchRow } from './runOne';

const python = '/usr/bin/python3';
const script = path.join(__dirname, '..', 'models', 'recipes', 'bench_sae_torch.py');
const tcmalloc = '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4';
const threads = 2;

interface Shape { label: string; d: number; K: number; k: number; B: number; steps: number; dead: number }

/** Median ms per step of our graph, with AuxK active when `dead` latents are candidates. */
async function oursMsPerStep(s: Shape): Promise<number> {
  const session = await TrainStepSession.open({ dModel: s.d, dictSize: s.K, k: s.k, auxK: s.dead > 0, auxkMax: 256, auxkCoef: 1 / 32, clipNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, benchSession(threads));
  const normal = seededNormal(1);
  const x = Float32Array.from({ length: s.B * s.d }, () => normal() / Math.sqrt(s.d));
  const dead = new Uint8Array(s.K);
  for (let j = 0; j < s.dead; j++) dead[j * Math.floor(s.K / s.dead)] = 1;
  let state = initialState(s.d, s.K, 0);
  const times: number[] = [];
  for (let i = 0; i <= s.steps; i++) {
    const t0 = performance.now();
    state = (await session.run({ x, batch: s.B, state, lr: 1e-3, ...(s.dead > 0 ? { deadCandidates: dead } : {}) })).state;
    if (i > 0) times.push(performance.now() - t0); // the first run also plans the graph
  }
  await session.dispose();
  return median(times);
}

interface TorchEnv { ok: boolean; why?: string; env: NodeJS.ProcessEnv; allocator: string; blas: string; slowBlas: boolean }

/** PyTorch's environment: tcmalloc when present; OpenBLAS when Debian's torch would otherwise use the reference BLAS. */
function torchEnv(): TorchEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const allocator = existsSync(tcmalloc) ? 'tcmalloc-minimal' : 'glibc malloc';
  if (existsSync(tcmalloc)) env.LD_PRELOAD = tcmalloc;
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', env });
  if (probe.status !== 0) return { ok: false, why: `${python} -c 'import torch' failed (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`, env, allocator, blas: '', slowBlas: false };
  // Debian's python3-torch calls libblas.so.3, which is the netlib reference BLAS unless an optimised one is installed.
  let blas = 'libblas.so.3';
  try { blas = realpathSync('/lib/x86_64-linux-gnu/libblas.so.3'); } catch { /* not Debian-like */ }
  let slowBlas = blas.includes('/blas/');
  const extra = process.env.FACT_BENCH_BLAS_DIR;
  if (slowBlas && extra && existsSync(path.join(extra, 'libblas.so.3'))) {
    env.LD_LIBRARY_PATH = [extra, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    blas = path.join(extra, 'libblas.so.3');
    slowBlas = false;
  }
  return { ok: true, env, allocator, blas: slowBlas ? `reference BLAS (${blas})` : blas, slowBlas };
}

function torchMsPerStep(t: TorchEnv, s: Shape, variant: 'fact' | 'sparse'): number | string {
  const args = [script, '--d', `${s.d}`, '--K', `${s.K}`, '--k', `${s.k}`, '--B', `${s.B}`, '--steps', `${s.steps}`, '--warmup', '1', '--dead', `${s.dead}`, '--threads', `${threads}`, '--variant', variant];
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
  const t = torchEnv();
  const setting = t.ok ? `PyTorch ${threads} threads, ${t.allocator}, BLAS ${t.blas}; ours ${threads} intra-op threads` : '';
  for (const s of shapes) {
    const ours = (s.B / (await oursMsPerStep(s))) * 1000;
    if (!t.ok) {
      report({ name: `SAE train step, ${s.label}`, ours, unit: 'vectors/s', note: `no PyTorch reference: ${t.why}` });
      continue;
    }
    for (const variant of ['fact', 'sparse'] as const) {
      const big = s.d * s.K > 1e7;
      if (variant === 'fact' && big && t.slowBlas) {
        report({ name: `SAE train step, ${s.label}`, ours, unit: 'vectors/s', note: `FaCT's dense PyTorch step skipped: with the reference BLAS it takes minutes per step (install libopenblas0-openmp or set FACT_BENCH_BLAS_DIR); ${setting}` });
        continue;
      }
      const ms = torchMsPerStep(t, s, variant);
      const referenceName = variant === 'fact' ? "PyTorch, FaCT's autograd step" : 'PyTorch, same sparse step by hand';
      if (typeof ms === 'string') report({ name: `SAE train step, ${s.label}`, ours, unit: 'vectors/s', note: ms });
      else report({ name: `SAE train step, ${s.label}`, ours, reference: (s.B / ms) * 1000, referenceName, unit: 'vectors/s', note: `${setting}${t.slowBlas ? '; PyTorch matmuls use the slow reference BLAS' : ''}` });
    }
  }

  // End to end: trainSae on an in-memory source (input-scale pass, batch copies, counters, progress) at the small shape.
  const d = 128, count = 4096 * 12;
  const normal = seededNormal(3);
  const source = new ArrayVectorSource(Float32Array.from({ length: count * d }, () => normal()), d);
  const t0 = performance.now();
  await trainSae(source, { k: 16, dictSize: 2048, layer: 'bench', modelSha256: '', batchSize: 4096, epochs: 1, warmupEpochs: 0, constantUntilEpoch: 0 }, { checkpointDir: mkdtempSync(path.join(tmpdir(), 'fact-bench-')), ...benchSession(threads) });
  report({ name: 'trainSae end to end, d=128 K=2048 k=16, 12 batches of 4096', ours: (count / (performance.now() - t0)) * 1000, unit: 'vectors/s', note: 'includes the input-scale pass, session start and the checkpoint write' });
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
