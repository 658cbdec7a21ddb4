// FaCT: Choose Dataset…: the images a model's jobs use (the card's splits or an image folder), remembered per model.
import * as vscode from 'vscode';
import type { DatasetSpec } from '../../core/data/openDataset';
import { modelDisplayName, readCardSummary } from '../models';
import { pickModel } from '../pick/pickModel';
import type { Fact } from '../services';
import { modelOf } from '../tree/nodeArgs';
import type { PickItem } from '../ui';

export async function chooseDatasetCommand(fact: Fact, arg: unknown): Promise<DatasetSpec | undefined> {
  const model = modelOf(arg) ?? fact.choices.model() ?? (await pickModel(fact));
  return model ? chooseDataset(fact, model) : undefined;
}

/** FaCT: Choose Dataset… — the card's splits or an image folder, remembered for the model. */
async function chooseDataset(fact: Fact, model: string): Promise<DatasetSpec | undefined> {
  const card = readCardSummary(model);
  const current = fact.choices.dataset(model);
  const items: PickItem<DatasetSpec | 'folder'>[] = Object.entries(card?.splits ?? {}).map(([split, count]) => ({
    label: `Model card: ${split}`,
    value: { kind: 'split', split },
    description: [
      count ? `${count.toLocaleString('en-US')} images` : '',
      current?.kind === 'split' && current.split === split ? 'current' : '',
    ]
      .filter(Boolean)
      .join(' · '),
  }));
  items.push({
    label: 'Image folder…',
    value: 'folder',
    description:
      current?.kind === 'folder' ? `current: ${vscode.workspace.asRelativePath(current.path)}` : 'one subfolder per class, PNG/JPEG inside',
  });
  const picked = await fact.ui.quickPick(items, { title: `FaCT: dataset for ${modelDisplayName(model)}` });
  if (!picked?.value) return undefined;
  let spec: DatasetSpec;
  if (picked.value === 'folder') {
    const dir = await fact.ui.openDialog({
      canSelectFiles: false,
      canSelectFolders: true,
      canSelectMany: false,
      title: 'FaCT: image folder (one subfolder per class)',
      openLabel: 'Use Folder',
    });
    if (!dir?.[0]) return undefined;
    spec = { kind: 'folder', path: dir[0].fsPath };
  } else spec = picked.value;
  await fact.choices.setDataset(model, spec);
  return spec;
}
