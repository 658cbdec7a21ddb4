// The execution provider the bench runs our side on: `npm run bench -- --ep webgpu` (or cuda, auto) sets
// FACT_BENCH_EP for each bench module; the references (PyTorch on the CPU) stay the same. FACT_BENCH_THREADS
// overrides each module's intra-op thread count (bench/gpu-device.sh uses all cores of the device machine).
import type { RequestedProvider, SessionOptions } from '../src/core/onnx/session';

export const benchEp = (process.env.FACT_BENCH_EP ?? 'cpu') as RequestedProvider;

/** Session options for our side of a figure: the chosen provider and the module's threads (or the override). */
export function benchSession(threads: number): SessionOptions {
  const t = Number(process.env.FACT_BENCH_THREADS) || threads;
  return benchEp === 'cpu' ? { threads: t } : { executionProvider: benchEp, threads: t };
}
