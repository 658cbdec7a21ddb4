// The model's layers as users name them: boundary tensors labelled by module scope, with the card's names first.
import { findBoundaryTensors, resolveLayer, type BoundaryTensor } from '../onnx/layers';
import type { ModelContext } from './modelContext';

export function modelLayers(ctx: ModelContext): BoundaryTensor[] {
  const layers = findBoundaryTensors(ctx.loaded.graph, ctx.index, ctx.imageInput.name).map((l) => ({ ...l, aliases: [...l.aliases] }));
  for (const cl of ctx.card?.layers ?? []) {
    const hit = layers.find((l) => l.tensor === cl.tensor);
    if (hit && hit.label !== cl.name) {
      hit.aliases = [...new Set([hit.label, ...hit.aliases])].filter((a) => a !== cl.name);
      hit.label = cl.name;
    }
  }
  return layers;
}

/** The layer called `name` (label, alias or tensor name); an unknown name lists the valid ones. */
export function resolveModelLayer(ctx: ModelContext, name: string): BoundaryTensor {
  return resolveLayer(modelLayers(ctx), name, ctx.file);
}
