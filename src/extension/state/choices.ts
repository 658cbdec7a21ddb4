// The choices FaCT remembers per workspace: the active model and, per model, the layer, the dataset and the SAE
// checkpoint last used. One record under one workspaceState key, validated on read, so a stale or
// hand-edited value can never reach a command; nothing here imports `vscode`.
import type { DatasetSpec } from '../../core/data/openDataset';
import { arr, literal, nullable, num, obj, optional, str, union, validate, type Schema } from '../../../webview/shared/schema';
import type { KeyValueStore } from './keyValueStore';
import { Emitter } from '../util/emitter';

export const CHOICES_KEY = 'fact.choices';
/** Where the first version kept the last model. */
const LEGACY_MODEL_KEY = 'fact.lastModel';

const datasetSchema: Schema<DatasetSpec> = union(
  obj({ kind: literal('folder'), path: str }),
  obj({ kind: literal('idx'), images: str, labels: str }),
  obj({ kind: literal('split'), split: str }),
);

const perModelSchema = obj({ layer: optional(str), dataset: optional(datasetSchema), sae: optional(str) });
type PerModel = { layer?: string; dataset?: DatasetSpec; sae?: string };

const recordSchema = obj({
  version: literal('1'),
  model: nullable(str),
  perModel: arr(obj({ model: str, choice: perModelSchema })),
  updatedAt: num,
});
interface ChoicesRecord {
  version: '1';
  model: string | null;
  perModel: { model: string; choice: PerModel }[];
  updatedAt: number;
}

export type ChoiceKind = 'model' | 'layer' | 'dataset' | 'sae';

export class Choices {
  private readonly changed = new Emitter<ChoiceKind>();
  /** Fires with what changed. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly store: KeyValueStore) {}

  private read(): ChoicesRecord {
    const raw = this.store.get<unknown>(CHOICES_KEY);
    const v = validate(recordSchema, raw, 'choices');
    if (v.ok) return v.value as ChoicesRecord;
    const legacy = this.store.get<unknown>(LEGACY_MODEL_KEY);
    return { version: '1', model: typeof legacy === 'string' ? legacy : null, perModel: [], updatedAt: 0 };
  }

  private async write(r: ChoicesRecord, what: ChoiceKind): Promise<void> {
    r.updatedAt = Date.now();
    await this.store.update(CHOICES_KEY, r);
    this.changed.fire(what);
  }

  private forModel(r: ChoicesRecord, model: string): PerModel {
    let e = r.perModel.find((p) => p.model === model);
    if (!e) {
      e = { model, choice: {} };
      r.perModel.push(e);
      // Keep the record small: the 50 most recently added models.
      if (r.perModel.length > 50) r.perModel.splice(0, r.perModel.length - 50);
    }
    return e.choice;
  }

  model(): string | undefined {
    return this.read().model ?? undefined;
  }

  async setModel(model: string | undefined): Promise<void> {
    const r = this.read();
    if (r.model === (model ?? null)) return;
    r.model = model ?? null;
    await this.write(r, 'model');
  }

  layer(model: string): string | undefined {
    return this.read().perModel.find((p) => p.model === model)?.choice.layer;
  }

  async setLayer(model: string, layer: string | undefined): Promise<void> {
    const r = this.read();
    const c = this.forModel(r, model);
    if (layer === undefined) delete c.layer;
    else c.layer = layer;
    await this.write(r, 'layer');
  }

  dataset(model: string): DatasetSpec | undefined {
    return this.read().perModel.find((p) => p.model === model)?.choice.dataset;
  }

  async setDataset(model: string, dataset: DatasetSpec | undefined): Promise<void> {
    const r = this.read();
    const c = this.forModel(r, model);
    if (dataset === undefined) delete c.dataset;
    else c.dataset = dataset;
    await this.write(r, 'dataset');
  }

  /** The SAE checkpoint folder chosen for the model (SAE issue: set when an SAE is picked or trained). */
  sae(model: string): string | undefined {
    return this.read().perModel.find((p) => p.model === model)?.choice.sae;
  }

  async setSae(model: string, sae: string | undefined): Promise<void> {
    const r = this.read();
    const c = this.forModel(r, model);
    if (sae === undefined) delete c.sae;
    else c.sae = sae;
    await this.write(r, 'sae');
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** How a dataset choice reads in a message or a status line. */
export function describeDataset(d: DatasetSpec, relative: (p: string) => string = (p) => p): string {
  switch (d.kind) {
    case 'split':
      return `the model card's '${d.split}' split`;
    case 'folder':
      return `the image folder ${relative(d.path)}`;
    case 'idx':
      return `the IDX files ${relative(d.images)}`;
  }
}
