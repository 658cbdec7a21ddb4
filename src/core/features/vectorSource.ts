// A source of feature vectors for SAE training: the shard store on disk, or an array in memory (tests).
// Batches come in a shuffled order that depends only on (seed, epoch), so a resumed run sees the same data.
import { throwIfAborted } from '../errors';

export interface VectorBatch {
  data: Float32Array;
  rows: number;
  /** The dataset index of each row's image, when asked for (`withImages`, a store only): to see how mixed batches are. */
  images?: Int32Array;
}

export interface BatchOptions {
  batchSize: number;
  epoch: number;
  seed: number;
  /** Also give each row's image index (a feature store only). */
  withImages?: boolean;
  /** Skip this many batches of the epoch (resume). */
  startBatch?: number;
  signal?: AbortSignal;
}

export interface VectorSource {
  readonly dim: number;
  readonly count: number;
  batches(opts: BatchOptions): AsyncIterable<VectorBatch>;
  /** How many batches `batches` yields for an epoch: `epochBatchStarts(count, batchSize).length - 1`. */
  batchCount(batchSize: number): number;
}

/** Where each batch of an epoch starts in the epoch's shuffled order of all `count` vectors, plus the end: every
 *  vector is used once per epoch. Batches hold `batchSize` vectors except the last, which holds the remainder; a
 *  remainder of one vector joins the batch before it instead (a batch of one has no variance for AuxK). */
export function epochBatchStarts(count: number, batchSize: number): number[] {
  const full = Math.floor(count / batchSize);
  const rest = count - full * batchSize;
  const batches = rest === 0 || (rest === 1 && full > 0) ? full : full + 1;
  const starts = Array.from({ length: batches }, (_, i) => i * batchSize);
  starts.push(count);
  return batches === 0 ? [0] : starts;
}

/** A seeded permutation (xorshift + Fisher–Yates), identical on every platform. */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

export class ArrayVectorSource implements VectorSource {
  readonly count: number;
  constructor(
    readonly data: Float32Array,
    readonly dim: number,
  ) {
    this.count = data.length / dim;
  }

  batchCount(batchSize: number): number {
    return epochBatchStarts(this.count, batchSize).length - 1;
  }

  async *batches(opts: BatchOptions): AsyncIterable<VectorBatch> {
    const order = permutation(this.count, opts.seed * 1000 + opts.epoch);
    const starts = epochBatchStarts(this.count, opts.batchSize);
    for (let b = opts.startBatch ?? 0; b < starts.length - 1; b++) {
      throwIfAborted(opts.signal);
      const rows = starts[b + 1]! - starts[b]!;
      const out = new Float32Array(rows * this.dim);
      for (let r = 0; r < rows; r++) {
        const src = order[starts[b]! + r]!;
        out.set(this.data.subarray(src * this.dim, (src + 1) * this.dim), r * this.dim);
      }
      yield { data: out, rows };
    }
  }
}
