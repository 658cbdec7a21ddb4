// Candidate layers for an SAE: tensors at block boundaries, i.e. tensors that every path from the image input to
// the outputs passes through (a residual block's output is one; a tensor inside the block is not, since the skip
// path goes around it). Each is labelled with the module that produced it when the exporter kept module scopes.
import { FactError } from '../errors';
import type { GraphIndex } from './graphIndex';
import { isWithin, modulePathOfNode } from './moduleScope';
import type { Dim, OnnxGraph } from './types';

export interface BoundaryTensor {
  /** The tensor's name in the graph. */
  tensor: string;
  /** The module path it is the output of (e.g. 'layer3'), or the tensor name when the graph has no scopes. */
  label: string;
  /** Nesting depth of `label` (1 for 'layer3', 2 for 'layer3.1'); 0 when unscoped. */
  depth: number;
  /** Other module paths whose single output is this same tensor (e.g. 'layer3.5' for 'layer3'). */
  aliases: string[];
  /** Position along the network, 0 = nearest the input. */
  position: number;
}

export interface CandidateLayer extends BoundaryTensor {
  shape: Dim[];
}

/** Tensors every input→output path passes through, in network order. */
export function findBoundaryTensors(g: OnnxGraph, index: GraphIndex, imageInput: string): BoundaryTensor[] {
  // Restrict to the part of the graph that depends on the image and reaches an output.
  const dependsOnInput = new Set<string>([imageInput]);
  const live = index.order.filter((n) => {
    const hit = n.input.some((i) => dependsOnInput.has(i));
    if (hit) for (const o of n.output) if (o) dependsOnInput.add(o);
    return hit;
  });
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const reaches = new Set<string>(graphOutputs);
  const onPath = new Set<(typeof live)[number]>();
  for (let k = live.length - 1; k >= 0; k--) {
    const n = live[k]!;
    if (n.output.some((o) => reaches.has(o))) {
      onPath.add(n);
      for (const i of n.input) if (dependsOnInput.has(i)) reaches.add(i);
    }
  }
  const path = live.filter((n) => onPath.has(n));
  // Last use of each input-dependent tensor along that order (graph outputs live to the end).
  const lastUse = new Map<string, number>();
  path.forEach((n, k) => n.input.forEach((i) => dependsOnInput.has(i) && lastUse.set(i, k)));
  for (const o of graphOutputs) lastUse.set(o, Infinity);
  // Sweep: after node k, the tensors alive across the cut are those produced at ≤ k and used at > k.
  // A cut crossed by a single tensor is a boundary (for any topological order, see the file comment).
  const alive = new Set<string>();
  if ((lastUse.get(imageInput) ?? -1) >= 0) alive.add(imageInput);
  const cuts: { tensor: string; k: number }[] = [];
  path.forEach((n, k) => {
    for (const o of n.output) if (reaches.has(o)) alive.add(o);
    for (const t of [...alive]) if ((lastUse.get(t) ?? -1) <= k) alive.delete(t);
    if (alive.size === 1) {
      const t = [...alive][0]!;
      if (n.output.includes(t) && !graphOutputs.has(t)) cuts.push({ tensor: t, k });
    }
  });
  return cuts.map(({ tensor, k }) => labelBoundary(tensor, k, path, graphOutputs, index));
}

function labelBoundary(tensor: string, k: number, path: GraphIndex['order'], graphOutputs: Set<string>, index: GraphIndex): BoundaryTensor {
  const producer = index.producer.get(tensor)!;
  const scope = modulePathOfNode(producer.name);
  if (!scope) return { tensor, label: tensor, depth: 0, aliases: [], position: k };
  // Every enclosing module whose nodes all come before this cut and whose only escaping tensor is this one.
  const parts = scope.split('.');
  const owners: string[] = [];
  for (let d = 1; d <= parts.length; d++) {
    const m = enclosingModule(scope, d);
    if (singleOutputOf(m, path, graphOutputs, index) === tensor) owners.push(m);
  }
  if (owners.length === 0) return { tensor, label: tensor, depth: 0, aliases: [], position: k };
  return { tensor, label: owners[0]!, depth: owners[0]!.split('.').length, aliases: owners.slice(1), position: k };
}

/** The module path at nesting depth d, taking care that names like 'layer2.0' already contain dots. */
function enclosingModule(scope: string, d: number): string {
  return scope.split('.').slice(0, d).join('.');
}

function singleOutputOf(module: string, path: GraphIndex['order'], graphOutputs: Set<string>, index: GraphIndex): string | undefined {
  const inside = path.filter((n) => isWithin(modulePathOfNode(n.name), module));
  if (inside.length === 0) return undefined;
  const insideSet = new Set(inside);
  const escaping = new Set<string>();
  for (const n of inside) {
    for (const o of n.output) {
      const users = index.consumers.get(o) ?? [];
      if (graphOutputs.has(o) || users.some((u) => !insideSet.has(u))) escaping.add(o);
    }
  }
  return escaping.size === 1 ? [...escaping][0] : undefined;
}

/** Looks a layer up by label, alias or tensor name; an unknown name lists the valid ones. */
export function resolveLayer<T extends BoundaryTensor>(layers: T[], name: string, file = 'model'): T {
  const hit = layers.find((l) => l.label === name || l.tensor === name || l.aliases.includes(name));
  if (hit) return hit;
  const valid = layers.map((l) => l.label).join(', ');
  throw new FactError('bad-layer', `'${file}' has no layer '${name}'. Valid layers: ${valid || '(none found)'}.`, {
    layer: name,
    valid: layers.map((l) => l.label),
  });
}
