// FaCT: Show Consistency Report (the tree's SAE item): the C² report on disk, measured first when there is none.
import { ConsistencyPanel } from '../panels/consistencyPanel';
import { resolveModelSae } from '../pick/pickSae';
import type { Fact } from '../services';
import { measureConsistencyCommand } from './measureConsistency';

/** Opens the consistency panel from the report on disk (the tree's "Show Consistency"); measures when there is none. */
export async function showConsistencyCommand(fact: Fact, arg?: unknown): Promise<ConsistencyPanel | undefined> {
  const t = await resolveModelSae(fact, arg, 'FaCT: show the C² consistency of which SAE?');
  if (!t) return undefined;
  if (!(await fact.concepts.consistency(t.sae))) {
    await measureConsistencyCommand(fact, t);
    return ConsistencyPanel.open.get(t.sae);
  }
  return ConsistencyPanel.show(fact, t);
}
