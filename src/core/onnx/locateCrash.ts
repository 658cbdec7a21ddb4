// After onnxruntime crashed on a model, find the node it crashed on: run ever shorter prefixes of the graph (in
// topological order, every tensor no later node reads kept as an output so nothing is pruned) in child processes,
// bisecting to the first node whose prefix crashes. Only the failure path pays for this.
import { indexGraph } from './graphIndex';
import { runIsolated } from './isolatedRun';
import { encodeModel } from './modelFile';
import type { OnnxModel, OnnxNode } from './types';

export async function locateCrash(model: OnnxModel, inputs: Record<string, number[]>): Promise<OnnxNode | undefined> {
  const g = model.graph!;
  const order = indexGraph(g).order;
  const crashes = async (k: number): Promise<boolean> => {
    const nodes = order.slice(0, k);
    const read = new Set(nodes.flatMap((n) => n.input));
    const frontier = nodes.flatMap((n) => n.output).filter((o) => o && !read.has(o));
    // Outputs are declared without a type: onnxruntime infers it, and a wrong guess would fail before the crash.
    const prefix: OnnxModel = { ...model, graph: { ...g, node: nodes, output: frontier.map((name) => ({ name })), valueInfo: [] } };
    const r = await runIsolated({ model: encodeModel(prefix), runs: [{ inputs, outputs: frontier }] });
    return !r.ok && r.crashed;
  };
  let lo = 0;
  let hi = order.length;
  if (!(await crashes(hi))) return undefined;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await crashes(mid)) hi = mid;
    else lo = mid;
  }
  return order[hi - 1];
}
