// Reads onnxruntime's verbose session log (logSeverityLevel 0) for where each node was placed. onnxruntime prints,
// per session, either "All nodes placed on [EP]" or, per provider, "Node(s) placed on [EP]" followed by one
// "OpType (node name)" line per node.
export interface PlacedNode {
  provider: string;
  opType: string;
  node: string;
}

export interface SessionPlacement {
  providers: string[];
  nodes: PlacedNode[];
  allOn?: string;
}

export function parseNodePlacements(log: string): SessionPlacement[] {
  const sessions: SessionPlacement[] = [];
  let current: SessionPlacement | undefined;
  let provider: string | undefined;
  for (const line of log.split('\n')) {
    if (!line.includes('VerifyEachNodeIsAssignedToAnEp]')) {
      provider = undefined;
      continue;
    }
    const text = line.slice(line.indexOf('VerifyEachNodeIsAssignedToAnEp]') + 'VerifyEachNodeIsAssignedToAnEp]'.length);
    if (/^\s*Node placements/.test(text)) {
      current = { providers: [], nodes: [] };
      sessions.push(current);
      provider = undefined;
      continue;
    }
    if (!current) continue;
    const all = text.match(/All nodes placed on \[(\w+)\]/);
    if (all) {
      current.allOn = all[1]!;
      current.providers.push(all[1]!);
      continue;
    }
    const block = text.match(/Node\(s\) placed on \[(\w+)\]/);
    if (block) {
      provider = block[1]!;
      current.providers.push(provider);
      continue;
    }
    const node = text.match(/^\s+(\w+) \((.*)\)\s*$/);
    if (node && provider) current.nodes.push({ provider, opType: node[1]!, node: node[2]! });
  }
  return sessions;
}

/** The nodes each session placed on the CPU, as "OpType (name)". */
export function cpuNodes(sessions: SessionPlacement[]): string[][] {
  return sessions.map((s) => s.nodes.filter((n) => n.provider === 'CPUExecutionProvider').map((n) => `${n.opType} (${n.node})`));
}
