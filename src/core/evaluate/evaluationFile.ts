// The evaluation's per-image results, saved beside the checkpoint for the concept atlas and the editor: for each
// image its active concepts with presence and contribution (compressed rows), the label, the predictions with and
// without the SAE, and the explained logit and bias.
import { FactError } from '../errors';
import { readSafetensors, writeSafetensors } from '../util/safetensors';
import type { ImageConcepts } from './conceptContributions';

export interface EvaluationRecords {
  /** Row i covers entries indptr[i] … indptr[i+1]. */
  indptr: Int32Array;
  concept: Int32Array;
  presence: Float32Array;
  contribution: Float32Array;
  imageIndex: Int32Array;
  label: Int32Array;
  predicted: Int32Array;
  predictedWithoutSae: Int32Array;
  logit: Float32Array;
  bias: Float32Array;
  meta: { modelSha256: string; layer: string; dataset: string; dictSize: number; k: number };
}

export class RecordsBuilder {
  private rows: ImageConcepts[] = [];
  private ids: number[] = [];
  private labels: number[] = [];
  private preds: number[] = [];
  private predsModel: number[] = [];
  private logits: number[] = [];
  private biases: number[] = [];

  add(r: {
    image: number;
    label: number;
    predicted: number;
    predictedWithoutSae: number;
    logit: number;
    bias: number;
    concepts: ImageConcepts;
  }): void {
    this.rows.push(r.concepts);
    this.ids.push(r.image);
    this.labels.push(r.label);
    this.preds.push(r.predicted);
    this.predsModel.push(r.predictedWithoutSae);
    this.logits.push(r.logit);
    this.biases.push(r.bias);
  }

  build(meta: EvaluationRecords['meta']): EvaluationRecords {
    const nnz = this.rows.reduce((a, r) => a + r.concepts.length, 0);
    const indptr = new Int32Array(this.rows.length + 1);
    const concept = new Int32Array(nnz);
    const presence = new Float32Array(nnz);
    const contribution = new Float32Array(nnz);
    let at = 0;
    this.rows.forEach((r, i) => {
      concept.set(r.concepts, at);
      presence.set(r.presence, at);
      contribution.set(r.contribution, at);
      at += r.concepts.length;
      indptr[i + 1] = at;
    });
    return {
      indptr,
      concept,
      presence,
      contribution,
      imageIndex: Int32Array.from(this.ids),
      label: Int32Array.from(this.labels),
      predicted: Int32Array.from(this.preds),
      predictedWithoutSae: Int32Array.from(this.predsModel),
      logit: Float32Array.from(this.logits),
      bias: Float32Array.from(this.biases),
      meta,
    };
  }
}

export async function saveEvaluationRecords(file: string, r: EvaluationRecords): Promise<void> {
  const t = (data: Int32Array | Float32Array) => ({ shape: [data.length], data });
  await writeSafetensors(
    file,
    {
      indptr: t(r.indptr),
      concept: t(r.concept),
      presence: t(r.presence),
      contribution: t(r.contribution),
      imageIndex: t(r.imageIndex),
      label: t(r.label),
      predicted: t(r.predicted),
      predictedWithoutSae: t(r.predictedWithoutSae),
      logit: t(r.logit),
      bias: t(r.bias),
    },
    { meta: JSON.stringify(r.meta) },
  );
}

export async function loadEvaluationRecords(file: string): Promise<EvaluationRecords> {
  const f = await readSafetensors(file);
  const need = [
    'indptr',
    'concept',
    'presence',
    'contribution',
    'imageIndex',
    'label',
    'predicted',
    'predictedWithoutSae',
    'logit',
    'bias',
  ];
  for (const n of need)
    if (!f.tensors[n]) throw new FactError('bad-store', `'${file}' is not a FaCT evaluation file: it has no '${n}'.`, { file });
  const g = <T>(n: string) => f.tensors[n]!.data as unknown as T;
  return {
    indptr: g('indptr'),
    concept: g('concept'),
    presence: g('presence'),
    contribution: g('contribution'),
    imageIndex: g('imageIndex'),
    label: g('label'),
    predicted: g('predicted'),
    predictedWithoutSae: g('predictedWithoutSae'),
    logit: g('logit'),
    bias: g('bias'),
    meta: JSON.parse(f.metadata.meta ?? '{}') as EvaluationRecords['meta'],
  };
}
