// What a model is, as a person needs to see it: inputs, outputs, op counts, parameters, and which input is the image.
import { FactError } from '../errors';
import { dataTypeName } from './schema';
import { int, valueInfoShape, type Dim, type OnnxGraph, type OnnxModel, type OnnxValueInfo } from './types';
import { opsetVersion } from './modelFile';

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: Dim[] | null;
}

export interface ImageInput {
  name: string;
  channels: number;
  height: number | null;
  width: number | null;
  /** How the B-cos `[x, 1−x]` encoding relates to this tensor: already encoded (2 or 6 channels), or raw (1 or 3). */
  encoding: 'encoded' | 'raw';
  colorSpace: 'grayscale' | 'rgb';
}

export interface ModelSummary {
  producer: string;
  opset: number;
  nodeCount: number;
  parameterCount: number;
  opCounts: Record<string, number>;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

function tensorInfo(v: OnnxValueInfo): TensorInfo {
  const elem = v.type?.tensorType?.elemType;
  return { name: v.name, dtype: elem ? dataTypeName(elem) : 'unknown', shape: valueInfoShape(v) ?? null };
}

export function realInputInfos(g: OnnxGraph): TensorInfo[] {
  const inits = new Set(g.initializer.map((t) => t.name));
  return g.input.filter((v) => !inits.has(v.name)).map(tensorInfo);
}

export function summarizeModel(model: OnnxModel): ModelSummary {
  const g = model.graph!;
  const opCounts: Record<string, number> = {};
  for (const n of g.node) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
  let parameterCount = 0;
  for (const t of g.initializer) parameterCount += t.dims.reduce<number>((a, d) => a * int(d), 1);
  return {
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    opset: opsetVersion(model),
    nodeCount: g.node.length,
    parameterCount,
    opCounts,
    inputs: realInputInfos(g),
    outputs: g.output.map(tensorInfo),
  };
}

export function formatShape(shape: Dim[] | null): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '[unknown]';
}

/** Finds the image input: a float tensor laid out N×C×H×W with C ∈ {1, 2, 3, 6}. Anything else is a clear error. */
export function findImageInput(g: OnnxGraph, file = 'model'): ImageInput {
  const inputs = realInputInfos(g);
  const reasons: string[] = [];
  for (const t of inputs) {
    const shape = t.shape;
    if (t.dtype !== 'float32') {
      reasons.push(`'${t.name}' is ${t.dtype}, not float32`);
      continue;
    }
    if (!shape || shape.length !== 4) {
      reasons.push(`'${t.name}' has shape ${formatShape(shape)}, not N×C×H×W`);
      continue;
    }
    const c = shape[1];
    if (typeof c !== 'number' || ![1, 2, 3, 6].includes(c)) {
      reasons.push(`'${t.name}' has ${c ?? '?'} channels (expected 1 or 3 raw, or 2 or 6 for B-cos [x, 1−x])`);
      continue;
    }
    const h = typeof shape[2] === 'number' ? shape[2] : null;
    const w = typeof shape[3] === 'number' ? shape[3] : null;
    return {
      name: t.name,
      channels: c,
      height: h,
      width: w,
      encoding: c === 2 || c === 6 ? 'encoded' : 'raw',
      colorSpace: c === 1 || c === 2 ? 'grayscale' : 'rgb',
    };
  }
  throw new FactError('not-image-model', `'${file}' has no image input: ${reasons.join('; ')}.`, { file, inputs });
}
