// Folding shape computations to constants. torch.onnx.export writes `x.view(B, h, -1)`, `unflatten`, `rearrange`
// and `qkv.chunk(3)` as small graphs on the run-time shape (Shape → Gather → Unsqueeze → Concat → Reshape, or
// Shape → Slice → Div → Mul → Slice for a chunk). For a model with a fixed image size every such value is a constant
// except where it carries the batch size, and the analyses need the constants (a Slice's starts, a Reshape's
// target). The values come from running the graph (in a child process, at two batch sizes when the batch is
// symbolic); what is the same at both is folded, what follows the batch is kept, and named when it matters.
import { makeTensor } from './graphBuilder';
import type { GraphIndex } from './graphIndex';
import type { IsolatedTensor } from './isolatedRun';
import type { DataTypeName } from './schema';
import { DataType } from './schema';
import { int, type OnnxGraph, type OnnxNode } from './types';

/** Ops whose output depends on the input only through its shape: the roots of shape computations. */
const SHAPE_SOURCES = new Set(['Shape', 'Size']);
/** Ops never folded: their value is not a function of their inputs alone, or they hold subgraphs. */
const NEVER_FOLD = new Set([
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Multinomial',
  'Bernoulli',
  'If',
  'Loop',
  'Scan',
]);

/** Tensors computed from constants and from the shapes of other tensors only (never from their values). */
export function shapeDerivedTensors(index: GraphIndex): string[] {
  const derived = new Set<string>();
  const fixed = (t: string) => !t || index.constants.has(t) || derived.has(t);
  for (const n of index.order) {
    if (NEVER_FOLD.has(n.opType) || n.domain) continue;
    if (SHAPE_SOURCES.has(n.opType) || (n.input.every(fixed) && n.input.some((t) => t && derived.has(t)))) {
      for (const o of n.output) if (o) derived.add(o);
    }
  }
  return [...derived];
}

export interface ProbeRun {
  /** The batch size the run used. */
  batch: number;
  tensors: Record<string, IsolatedTensor>;
}

export interface FoldResult {
  graph: OnnxGraph;
  /** Tensors replaced by constants. */
  folded: string[];
  /** Shape-derived tensors that change with the batch size, with the node that computes each. */
  batchDependent: Map<string, OnnxNode>;
}

const ORT_TYPES: Record<string, DataTypeName> = {
  float32: 'float32',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  bool: 'bool',
  uint8: 'uint8',
  int8: 'int8',
};

export function foldShapeTensors(g: OnnxGraph, index: GraphIndex, derived: string[], runs: ProbeRun[]): FoldResult {
  const constants = new Map<string, ReturnType<typeof makeTensor>>();
  const batchDependent = new Map<string, OnnxNode>();
  const types = new Map<string, string>();
  for (const t of derived) {
    const seen = runs.map((r) => r.tensors[t]);
    if (seen.some((s) => !s)) continue;
    const first = seen[0]!;
    types.set(t, first.type);
    const dtype = ORT_TYPES[first.type];
    const same = seen.every((s) => s!.values && sameArray(s!.dims, first.dims) && sameArray(s!.values, first.values!));
    if (same && dtype) {
      constants.set(t, makeTensor(t, dtype, first.dims, first.values!));
      continue;
    }
    const target = dtype ? batchAsCopiedDim(t, index, runs) : undefined;
    if (target) constants.set(t, makeTensor(t, dtype!, first.dims, target));
    else if (differs(seen as IsolatedTensor[])) batchDependent.set(t, index.producer.get(t)!);
    // (a tensor too large to compare that keeps its shape is left as it is: neither folded nor blamed)
  }
  // The folded tensors become initializers; nodes no longer needed for any output are dropped.
  const initializer = [...g.initializer, ...constants.values()];
  const produced = new Set(constants.keys());
  const node = liveNodes(
    g.node.map((n) => (n.output.every((o) => !o || produced.has(o)) ? undefined : n)).filter((n): n is OnnxNode => !!n),
    g.output.map((o) => o.name),
  );
  const used = new Set([...node.flatMap((n) => n.input), ...g.output.map((o) => o.name)]);
  const keptInit = initializer.filter((t) => used.has(t.name) || g.input.some((i) => i.name === t.name));
  // Every tensor whose type the run revealed is declared with it, so a later tap never guesses float for an int64.
  const typed = new Set(g.valueInfo.map((v) => v.name));
  const valueInfo = [
    ...g.valueInfo.filter((v) => !produced.has(v.name)),
    ...[...types]
      .filter(([t, ty]) => !produced.has(t) && !typed.has(t) && ORT_TYPES[ty])
      .map(([name, ty]) => ({ name, type: { tensorType: { elemType: DataType[ORT_TYPES[ty]!] } } })),
  ];
  return { graph: { ...g, node, initializer: keptInit, valueInfo }, folded: [...constants.keys()], batchDependent };
}

/**
 * A Reshape target that differs between runs only in its first entry, which is the batch size each time, is the
 * `x.view(x.size(0), …)` idiom: ONNX's Reshape writes "copy this dimension" as 0, which keeps the batch symbolic.
 */
function batchAsCopiedDim(t: string, index: GraphIndex, runs: ProbeRun[]): number[] | undefined {
  if (runs.length < 2) return undefined;
  const consumers = index.consumers.get(t) ?? [];
  const onlyReshapeTargets =
    consumers.length > 0 && consumers.every((c) => c.opType === 'Reshape' && c.input[1] === t && c.input[0] !== t && allowZero(c) === 0);
  if (!onlyReshapeTargets) return undefined;
  const vals = runs.map((r) => r.tensors[t]!.values);
  if (vals.some((v) => !v || v.length !== vals[0]!.length || v.length === 0)) return undefined;
  const first = vals[0]!;
  const restSame = vals.every((v) => v!.slice(1).every((x, i) => x === first[i + 1]));
  const batchFirst = vals.every((v, i) => v![0] === runs[i]!.batch);
  if (!restSame || !batchFirst || first.slice(1).includes(0)) return undefined;
  return [0, ...first.slice(1)];
}

function allowZero(n: OnnxNode): number {
  const a = n.attribute.find((x) => x.name === 'allowzero');
  return a ? int(a.i) : 0;
}

function liveNodes(nodes: OnnxNode[], outputs: string[]): OnnxNode[] {
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.output) if (o) producer.set(o, n);
  const live = new Set<OnnxNode>();
  const stack = [...outputs];
  while (stack.length) {
    const p = producer.get(stack.pop()!);
    if (!p || live.has(p)) continue;
    live.add(p);
    for (const i of p.input) if (i) stack.push(i);
  }
  return nodes.filter((n) => live.has(n));
}

/** Whether the runs at different batch sizes saw different shapes or (where known) different values. */
function differs(seen: IsolatedTensor[]): boolean {
  const first = seen[0]!;
  return seen.some((s) => !sameArray(s.dims, first.dims) || (s.values && first.values && !sameArray(s.values, first.values)));
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
