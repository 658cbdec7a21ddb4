// FaCT: Explain an Image with This SAE… (the tree's SAE item): makes it the model's SAE, then explains an image.
import type { ExplainPanel } from '../panels/explainPanel';
import { saeArg } from '../pick/pickSae';
import type { Fact } from '../services';
import { explainArgs, explainImageCommand } from './explainImage';

export async function explainImageWithSaeCommand(fact: Fact, arg: unknown, selection?: unknown): Promise<ExplainPanel | undefined> {
  const { model, sae } = saeArg(arg);
  if (!model || !sae) return explainImageCommand(fact, explainArgs(arg, selection));
  await fact.choices.setSae(model, sae);
  return explainImageCommand(fact, { model, sae });
}
