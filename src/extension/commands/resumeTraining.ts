// FaCT: Resume Training (the tree's resumable SAE item): Train SAE again with the settings its training log recorded.
import type { Fact } from '../services';
import { asNode } from '../tree/nodeArgs';
import { trainSaeCommand, type TrainResult } from './trainSae';

export async function resumeTrainingCommand(fact: Fact, arg: unknown): Promise<TrainResult | undefined> {
  const n = asNode(arg);
  const out =
    n?.kind === 'sae' ? n.info.dir : typeof arg === 'object' && arg && 'out' in arg ? String((arg as { out: unknown }).out) : undefined;
  if (!out) return undefined;
  const s = await fact.training.load(out);
  if (!s) {
    void fact.ui.error(
      `FaCT: '${out}' has no training log, so its settings are unknown; run FaCT: Train SAE with the same k and dictionary size to resume it.`,
    );
    return undefined;
  }
  return trainSaeCommand(fact, { ...s.settings, resume: true });
}
