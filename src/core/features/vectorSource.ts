// A source of feature vectors for SAE training: the shard store on disk, or an array in memory (tests).
// Batches come in a shuffled order that depends only on (seed, epoch), so a resumed run sees the same data.
import { throwIfAborted } from '../errors';

export interface VectorBatch { data: Float32Array; rows: number }

export interface BatchOptions {
  batchSize: number;
  epoch: number;
  seed: number;
  /** Skip this many batches of the epoch (resume). */
  startBatch?: number;
  signal?: AbortSignal;
}

export interface VectorSource {
  readonly dim: number;
  readonly count: number;
  batches(opts: BatchOptions): AsyncIterable<VectorBatch>;
  /** How many batches `batches` yields for an epoch (may differ slightly from ⌊count / batchSize⌋). */
  batchCount(batchSize: number, seed: number, epoch: number): number;
}

/** A seeded permutation (xorshift + Fisher–Yates), identical on every platform. */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    const j = s % (i + 1);
    const t = p[i]!; p[i] = p[j]!; p[j] = t;
  }
  return p;
}

export class ArrayVectorSource implements VectorSource {
  readonly count: number;
  constructor(readonly data: Float32Array, readonly dim: number) {
    this.count = data.length / dim;
  }

  batchCount(batchSize: number): number {
    return Math.floor(this.count / batchSize);
  }

  async *batches(opts: BatchOptions): AsyncIterable<VectorBatch> {
    const order = permutation(this.count, opts.seed * 1000 + opts.epoch);
    const total = Math.floor(this.count / opts.batchSize);
    for (let b = opts.startBatch ?? 0; b < total; b++) {
      throwIfAborted(opts.signal);
      const out = new Float32Array(opts.batchSize * this.dim);
      for (let r = 0; r < opts.batchSize; r++) {
        const src = order[b * opts.batchSize + r]!;
        out.set(this.data.subarray(src * this.dim, (src + 1) * this.dim), r * this.dim);
      }
      yield { data: out, rows: opts.batchSize };
    }
  }
}
