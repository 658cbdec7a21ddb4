// `fact plan`: from throughputs measured on this machine (or given for a GPU node), what a collection and an SAE
// training at scale will cost: wall time on N collection nodes, store size, training time, RAM and disk. Pure.

export interface PlanInput {
  images: number;
  samplesPerImage: number;
  /** Feature vector length (the layer's channels). */
  dim: number;
  nodes: number[];
  /** Collection throughput of one node, images/s. */
  collectImagesPerSecond: number;
  /** SAE training throughput of the training node, vectors/s. */
  trainVectorsPerSecond: number;
  dictSize: number;
  epochs: number;
  batchSize: number;
  /** Shards loaded at once for shuffling, and vectors per shard (the store's defaults: 4 and 65,536). */
  shuffleWindow: number;
  shardVectors: number;
}

export interface PlanRow {
  nodes: number;
  collectSeconds: number;
  partGB: { float16: number; float32: number };
}

export interface Plan {
  vectors: number;
  storeGB: { float16: number; float32: number };
  rows: PlanRow[];
  trainSeconds: number;
  /** Training node: weights, gradients' Adam moments (m, v) and the shuffle window in float32, plus a batch. */
  trainRamGB: number;
  /** Training node disk: the whole store (fp16) plus checkpoint and resumable state. */
  trainDiskGB: { float16: number; float32: number };
}

export function projectPlan(p: PlanInput): Plan {
  const vectors = p.images * p.samplesPerImage;
  // Per stored vector: its values plus its image and position (int32 each).
  const bytes = (b: number) => vectors * (p.dim * b + 8);
  const storeGB = { float16: bytes(2) / 1e9, float32: bytes(4) / 1e9 };
  const rows = p.nodes.map((n) => ({
    nodes: n,
    collectSeconds: p.images / n / p.collectImagesPerSecond,
    partGB: { float16: storeGB.float16 / n, float32: storeGB.float32 / n },
  }));
  const params = 2 * p.dictSize * p.dim;
  // Weights + Adam's m and v, and the same again as the state being saved; window of float32 rows; a batch's codes.
  const ramBytes = params * 4 * 3 * 2 + p.shuffleWindow * p.shardVectors * p.dim * 4 * 2 + p.batchSize * (p.dictSize + p.dim) * 4 * 4;
  const stateGB = (params * 4 * 3 + params * 4) / 1e9;
  return {
    vectors,
    storeGB,
    rows,
    trainSeconds: (p.epochs * vectors) / p.trainVectorsPerSecond,
    trainRamGB: ramBytes / 1e9,
    trainDiskGB: { float16: storeGB.float16 + stateGB, float32: storeGB.float32 + stateGB },
  };
}

export function formatDuration(s: number): string {
  if (s < 90) return `${s.toFixed(0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}
