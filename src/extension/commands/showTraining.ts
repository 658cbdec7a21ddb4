// FaCT: Show Training Curves (the tree's SAE item with a training log).
import { TrainingPanel } from '../panels/trainingPanel';
import type { Fact } from '../services';
import { asNode } from '../tree/nodeArgs';

export function showTrainingCommand(fact: Fact, arg: unknown): TrainingPanel | undefined {
  const n = asNode(arg);
  const out = n?.kind === 'sae' ? n.info.dir : typeof arg === 'string' ? arg : undefined;
  return out ? TrainingPanel.show(fact, out, { preserveFocus: false }) : undefined;
}
