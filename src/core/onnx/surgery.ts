// Graph surgery: onnxruntime only returns graph outputs, so intermediate tensors (layer features) are tapped by
// adding them as outputs of a re-encoded copy of the model. The original model object is left untouched.
import { FactError } from '../errors';
import { encodeModel } from './modelFile';
import type { OnnxModel, OnnxValueInfo } from './types';

export function withExtraOutputs(model: OnnxModel, tensors: string[]): OnnxModel {
  const g = model.graph!;
  const produced = new Set(g.node.flatMap((n) => n.output));
  const known = new Map<string, OnnxValueInfo>(g.valueInfo.map((v) => [v.name, v]));
  const existing = new Set(g.output.map((o) => o.name));
  const extra: OnnxValueInfo[] = [];
  for (const t of tensors) {
    if (existing.has(t)) continue;
    if (!produced.has(t)) throw new FactError('bad-layer', `The model has no tensor '${t}' produced by a node.`, { tensor: t });
    existing.add(t);
    // The declared type when the model (or its normalisation) records one; otherwise no type at all: onnxruntime
    // infers it, where a guess would be wrong for the int64 and bool tensors of shape computations.
    extra.push(known.get(t) ?? { name: t });
  }
  return { ...model, graph: { ...g, output: [...g.output, ...extra] } };
}

export function encodeWithExtraOutputs(model: OnnxModel, tensors: string[]): Uint8Array {
  return encodeModel(withExtraOutputs(model, tensors));
}
