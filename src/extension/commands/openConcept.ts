// FaCT: Open Concept: one concept of an SAE in the concept panel (picked by mean contribution when not given).
import { ConceptPanel } from '../panels/conceptPanel';
import { pickConcept } from '../pick/pickConcept';
import { resolveModelSae } from '../pick/pickSae';
import type { Fact } from '../services';
import { asNode } from '../tree/nodeArgs';
import { requireTrust } from '../trust';

export interface OpenConceptArgs {
  model?: string;
  sae?: string;
  concept?: number;
}

export async function openConceptCommand(fact: Fact, arg?: unknown): Promise<ConceptPanel | undefined> {
  if (!requireTrust(fact.ui, 'open a concept')) return undefined;
  const t = await resolveModelSae(fact, arg, 'FaCT: open a concept of which SAE?');
  if (!t) return undefined;
  const { model, sae } = t;
  let concept =
    (arg && typeof arg === 'object' && !asNode(arg) ? (arg as OpenConceptArgs).concept : undefined) ??
    (typeof arg === 'number' ? arg : undefined);
  if (concept === undefined) {
    concept = await pickConcept(fact, model, sae);
    if (concept === undefined) return undefined;
  }
  return ConceptPanel.show(fact, { model, sae, concept });
}
