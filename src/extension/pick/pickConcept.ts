// A quick pick of an SAE's concepts (FaCT: Open Concept, and the concept panel's "Other concept…").
import { isFactError } from '../../core/errors';
import { modelDisplayName } from '../models';
import { conceptsByContribution } from '../sae/saeFiles';
import type { Fact } from '../services';
import type { PickItem } from '../ui';

/** A quick pick of the SAE's concepts by mean contribution (the atlas is built first when needed). */
export async function pickConcept(fact: Fact, model: string, sae: string): Promise<number | undefined> {
  const name = fact.saes.displayName(model, sae);
  let atlas;
  try {
    atlas = await fact.concepts.atlas(model, sae);
  } catch (e) {
    if (isFactError(e) && e.code === 'cancelled') return undefined;
    const needsEval = /evaluat/i.test((e as Error).message);
    void fact.ui
      .error(`FaCT: the concepts of SAE ${name} cannot be listed: ${(e as Error).message}`, ...(needsEval ? ['Evaluate'] : []))
      .then((a) => {
        if (a) void fact.ui.executeCommand('fact.evaluateSae', { model, sae });
      });
    return undefined;
  }
  const c2 = new Map((await fact.concepts.consistency(sae))?.report.concepts.map((c) => [c.concept, c.score]) ?? []);
  const items: PickItem<number>[] = conceptsByContribution(atlas).map((c, i) => ({
    label: `Concept ${c.concept}`,
    value: c.concept,
    description: [
      `#${i + 1} by mean contribution ${c.meanContribution.toFixed(3)}`,
      `in ${(100 * c.frequency).toFixed(1)} % of images`,
      c2.has(c.concept) ? `C² ${c2.get(c.concept)!.toFixed(3)}` : '',
    ]
      .filter(Boolean)
      .join(' · '),
    ...(c.classes.length
      ? {
          detail: `mostly ${c.classes
            .slice(0, 3)
            .map((k) => k.name)
            .join(', ')}`,
        }
      : {}),
  }));
  const picked = await fact.ui.quickPick(items, {
    title: `FaCT: concepts of SAE ${name} (${modelDisplayName(model)}), by mean contribution`,
    placeHolder: 'concept number or class name',
    matchOnDescription: false,
    matchOnDetail: true,
  });
  return picked?.value;
}
