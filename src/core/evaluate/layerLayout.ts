// A layer's features as an SAE sees them: one vector per location. CNN layers are N×C×H×W, token layers N×T×C.
export interface LayerLayout {
  /** Feature width C. */
  dim: number;
  /** Locations per image (H·W, or T). */
  locations: number;
  /** True for N×C×H×W, false for N×T×C. */
  spatial: boolean;
}

/** `shape` is the layer's shape without the batch axis. */
export function layerLayout(shape: number[]): LayerLayout {
  if (shape.length === 3) return { dim: shape[0]!, locations: shape[1]! * shape[2]!, spatial: true };
  if (shape.length === 2) return { dim: shape[1]!, locations: shape[0]!, spatial: false };
  throw new Error(`a layer for an SAE has spatial (C×H×W) or token (T×C) features, not shape [${shape.join(', ')}]`);
}

/** N images' features → [N·L, C] row vectors (image-major, location-minor). */
export function toVectors(features: Float32Array, n: number, l: LayerLayout): Float32Array {
  if (!l.spatial) return features;
  const out = new Float32Array(features.length);
  const { dim, locations } = l;
  for (let b = 0; b < n; b++) {
    const base = b * dim * locations;
    for (let c = 0; c < dim; c++) for (let p = 0; p < locations; p++) out[base + p * dim + c] = features[base + c * locations + p]!;
  }
  return out;
}

/** The inverse of toVectors. */
export function fromVectors(vectors: Float32Array, n: number, l: LayerLayout): Float32Array {
  if (!l.spatial) return vectors;
  const out = new Float32Array(vectors.length);
  const { dim, locations } = l;
  for (let b = 0; b < n; b++) {
    const base = b * dim * locations;
    for (let c = 0; c < dim; c++) for (let p = 0; p < locations; p++) out[base + c * locations + p] = vectors[base + p * dim + c]!;
  }
  return out;
}
