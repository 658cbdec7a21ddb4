// FaCT: Reveal in Explorer (the tree's model and SAE items).
import { revealPath } from '../reveal';
import { asNode, modelOf } from '../tree/nodeArgs';

/** Reveal in Explorer for a model or checkpoint; files outside the workspace (the embedded model) open the OS's. */
export async function revealNode(arg: unknown): Promise<void> {
  const n = asNode(arg);
  const file = n?.kind === 'sae' ? n.info.dir : modelOf(arg);
  if (!file) return;
  await revealPath(file);
}
