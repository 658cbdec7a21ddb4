// FaCT: Choose SAE… and the tree's "Use This SAE": which checkpoint a model explains with, remembered per model.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { checkpointFiles } from '../../core/sae/saeFolder';
import { log } from '../log';
import { modelDisplayName } from '../models';
import { pickModel } from '../pick/pickModel';
import { saeArg, saeItems } from '../pick/pickSae';
import { NO_SAE } from '../sae/saeIndex';
import type { Fact } from '../services';
import type { PickItem } from '../ui';

const BROWSE = 'browse';

/** FaCT: Choose SAE… — the model's checkpoints, "no SAE", or a checkpoint folder anywhere; remembered per model. */
export async function chooseSaeCommand(fact: Fact, arg?: unknown): Promise<string | null | undefined> {
  const given = saeArg(arg);
  const model =
    given.model ??
    (fact.choices.model() && existsSync(fact.choices.model()!)
      ? fact.choices.model()
      : await pickModel(fact, { title: 'FaCT: choose an SAE for which model?' }));
  if (!model) return undefined;
  if (given.sae) {
    await fact.choices.setSae(model, given.sae);
    return given.sae;
  }
  const list = await fact.saes.list(model);
  const current = fact.choices.sae(model);
  const eff = await fact.saes.effective(model);
  const items: PickItem<string>[] = saeItems(fact, model, list, eff.dir);
  items.push({
    label: 'No SAE',
    value: NO_SAE,
    description: current === NO_SAE ? 'current' : 'explain with the model alone (no concepts)',
  });
  items.push({ label: 'Browse…', value: BROWSE, description: 'an SAE checkpoint folder (cfg.json + sae.safetensors)' });
  const picked = await fact.ui.quickPick(items, {
    title: `FaCT: SAE for ${modelDisplayName(model)}`,
    placeHolder: list.length ? 'SAE checkpoint' : 'this model has no SAE checkpoint yet',
    matchOnDescription: true,
  });
  if (!picked || picked.value === undefined) return undefined;
  let dir = picked.value;
  if (dir === BROWSE) {
    const chosen = await fact.ui.openDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      title: 'FaCT: an SAE checkpoint folder',
      openLabel: 'Use SAE',
    });
    if (!chosen?.[0]) return undefined;
    dir = chosen[0].fsPath;
    if (!existsSync(path.join(dir, checkpointFiles.cfg))) {
      void fact.ui.error(`FaCT: '${dir}' is not an SAE checkpoint folder (it has no cfg.json).`);
      return undefined;
    }
  }
  await fact.choices.setSae(model, dir);
  log().info(dir === NO_SAE ? `No SAE for ${model}.` : `SAE for ${model}: ${dir}.`);
  return dir === NO_SAE ? null : dir;
}
