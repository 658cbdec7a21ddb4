// Indexes over a graph that several analyses share: who produces and who consumes each tensor, which tensors are
// constants, and a topological order of the nodes.
import type { OnnxGraph, OnnxNode } from './types';

export interface GraphIndex {
  producer: Map<string, OnnxNode>;
  consumers: Map<string, OnnxNode[]>;
  /** Initializers and outputs of Constant nodes whose inputs are all constant. */
  constants: Set<string>;
  /** Graph inputs that are not initializers (the real inputs). */
  realInputs: string[];
  /** Nodes in an order where every node comes after the producers of its inputs. */
  order: OnnxNode[];
}

export function indexGraph(g: OnnxGraph): GraphIndex {
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of g.node) {
    for (const o of n.output) if (o) producer.set(o, n);
    for (const i of n.input) {
      if (!i) continue;
      const list = consumers.get(i);
      if (list) list.push(n);
      else consumers.set(i, [n]);
    }
  }
  const initNames = new Set(g.initializer.map((t) => t.name));
  const realInputs = g.input.map((v) => v.name).filter((n) => !initNames.has(n));
  const order = topologicalOrder(g.node, producer);
  const constants = new Set(initNames);
  for (const n of order) {
    const ins = n.input.filter(Boolean);
    if (ins.every((i) => constants.has(i)) && !realInputs.some((r) => ins.includes(r))) {
      for (const o of n.output) if (o) constants.add(o);
    }
  }
  return { producer, consumers, constants, realInputs, order };
}

function topologicalOrder(nodes: OnnxNode[], producer: Map<string, OnnxNode>): OnnxNode[] {
  const state = new Map<OnnxNode, 1 | 2>();
  const out: OnnxNode[] = [];
  // Iterative DFS: exported graphs can be thousands of nodes deep.
  for (const root of nodes) {
    if (state.has(root)) continue;
    const stack: [OnnxNode, number][] = [[root, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [n, k] = top;
      if (k < n.input.length) {
        top[1]++;
        const p = n.input[k] ? producer.get(n.input[k]!) : undefined;
        if (p && !state.has(p)) {
          state.set(p, 1);
          stack.push([p, 0]);
        }
      } else {
        stack.pop();
        state.set(n, 2);
        out.push(n);
      }
    }
  }
  return out;
}
