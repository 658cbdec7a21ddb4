// Training-step throughput (vectors/s) by intra-op thread count, against the same step at one thread in the same run:
// the measurement behind the default of `--threads` for training (src/core/sae/trainThreads.ts).
//   • the shipped default SAE's shape: d = 128 (layer3 of fashion-mnist-bcos), 1,024 latents, k = 8, 4,096 vectors;
//   • FaCT's ResNet-50 layer4 shape: d = 2048, 16,384 latents, k = 16, 1,024 vectors per step (few steps: slow here).
// Each shape with and without the AuxK term (64 dead-latent candidates).
import * as os from 'node:os';
import { initialState, seededNormal } from '../src/core/sae/initialWeights';
import { TrainStepSession } from '../src/core/sae/trainStepSession';
import type { BenchRow } from './runOne';

interface Shape {
  label: string;
  d: number;
  K: number;
  k: number;
  B: number;
  steps: number;
}

async function msPerStep(s: Shape, threads: number, dead: number): Promise<number> {
  const session = await TrainStepSession.open(
    {
      dModel: s.d,
      dictSize: s.K,
      k: s.k,
      auxK: dead > 0,
      auxkMax: 256,
      auxkCoef: 1 / 32,
      clipNorm: 1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
    },
    { threads },
  );
  const normal = seededNormal(1);
  const x = Float32Array.from({ length: s.B * s.d }, () => normal() / Math.sqrt(s.d));
  const candidates = new Uint8Array(s.K);
  for (let j = 0; j < dead; j++) candidates[j * Math.floor(s.K / dead)] = 1;
  let state = initialState(s.d, s.K, 0);
  const times: number[] = [];
  for (let i = 0; i <= s.steps; i++) {
    const t0 = performance.now();
    state = (await session.run({ x, batch: s.B, state, lr: 1e-3, ...(dead > 0 ? { deadCandidates: candidates } : {}) })).state;
    if (i > 0) times.push(performance.now() - t0); // the first run also plans the graph
  }
  await session.dispose();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function run(report: (r: BenchRow) => void): Promise<void> {
  const cores = os.availableParallelism();
  const counts = [...new Set([1, 2, cores])];
  const shapes: Shape[] = [
    { label: 'default d=128 K=1024 k=8 B=4096', d: 128, K: 1024, k: 8, B: 4096, steps: 10 },
    { label: 'ResNet-50 layer4 d=2048 K=16384 k=16 B=1024', d: 2048, K: 16384, k: 16, B: 1024, steps: 2 },
  ];
  for (const s of shapes) {
    for (const dead of [0, 64]) {
      const one = (s.B / (await msPerStep(s, 1, dead))) * 1000;
      report({ name: `SAE step ${s.label}${dead ? ', AuxK' : ''}, 1 thread`, ours: one, unit: 'vectors/s' });
      for (const t of counts.filter((c) => c > 1)) {
        report({
          name: `SAE step ${s.label}${dead ? ', AuxK' : ''}, ${t} threads`,
          ours: (s.B / (await msPerStep(s, t, dead))) * 1000,
          reference: one,
          referenceName: '1 thread',
          unit: 'vectors/s',
          note: `${cores} cores`,
        });
      }
    }
  }
}
