// A model reduced to what computes some of its tensors: they become its only outputs, and the nodes and initializers
// that do not feed them are dropped. A run then stops where the caller's interest does (collecting features at a
// layer needs nothing after it), where tapping the tensors as extra outputs would still run the whole model.
import { FactError } from '../errors';
import { encodeModel } from './modelFile';
import type { OnnxModel, OnnxValueInfo } from './types';

/** The model cut after `tensors`, or undefined when it cannot be cut safely (a node with a subgraph, whose
 *  outer-scope reads are not listed in its inputs). */
export function cutAtTensors(model: OnnxModel, tensors: string[]): OnnxModel | undefined {
  const g = model.graph!;
  if (g.node.some((n) => n.attribute.some((a) => a.g || (a as { graphs?: unknown[] }).graphs?.length))) return undefined;
  const producer = new Map<string, number>();
  g.node.forEach((n, i) => n.output.forEach((o) => o && producer.set(o, i)));
  const known = new Map<string, OnnxValueInfo>([...g.valueInfo, ...g.output].map((v) => [v.name, v]));
  for (const t of tensors)
    if (!producer.has(t)) throw new FactError('bad-layer', `The model has no tensor '${t}' produced by a node.`, { tensor: t });
  // Walk back from the wanted tensors to every node they need.
  const keep = new Set<number>();
  const needed = new Set<string>();
  const todo = [...tensors];
  while (todo.length) {
    const t = todo.pop()!;
    if (needed.has(t)) continue;
    needed.add(t);
    const i = producer.get(t);
    if (i === undefined || keep.has(i)) continue;
    keep.add(i);
    for (const input of g.node[i]!.input) if (input) todo.push(input);
  }
  return {
    ...model,
    graph: {
      ...g,
      node: g.node.filter((_, i) => keep.has(i)),
      initializer: g.initializer.filter((t) => needed.has(t.name)),
      valueInfo: g.valueInfo.filter((v) => needed.has(v.name)),
      output: [...new Set(tensors)].map((t) => known.get(t) ?? { name: t }),
    },
  };
}

export function encodeCutAtTensors(model: OnnxModel, tensors: string[]): Uint8Array | undefined {
  const cut = cutAtTensors(model, tensors);
  return cut && encodeModel(cut);
}
