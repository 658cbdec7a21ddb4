// FaCT: Select Model…: the active model, given (a tree node, a Uri) or picked.
import { pickModel } from '../pick/pickModel';
import type { Fact } from '../services';
import { modelOf } from '../tree/nodeArgs';

export async function selectModelCommand(fact: Fact, arg: unknown): Promise<string | undefined> {
  const given = modelOf(arg);
  if (given) await fact.choices.setModel(given);
  return given ?? pickModel(fact, { title: 'FaCT: choose the active model' });
}
