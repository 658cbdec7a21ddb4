// PyTorch's exporter names nodes after the module that made them: '/layer2/layer2.0/conv1/Conv'. This recovers the
// dotted module path ('layer2.0.conv1') so tensors can be labelled with the names users know from their code.

/** The dotted module path of a node, or '' when its name carries no scope. */
export function modulePathOfNode(nodeName: string): string {
  if (!nodeName.startsWith('/')) return '';
  const parts = nodeName.split('/').filter(Boolean);
  parts.pop(); // the op itself, e.g. 'Conv' or 'Mul_1'
  let path = '';
  for (const p of parts) {
    // Newer exporters write full paths per level ('layer2.0'); older ones the local name ('0'). Accept both.
    path = path && !p.startsWith(`${path}.`) ? `${path}.${p}` : p;
  }
  return path;
}

/** True when `inner` is `outer` or nested inside it. */
export function isWithin(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(`${outer}.`);
}
