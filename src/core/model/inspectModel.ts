// `fact inspect`: the model's inputs and outputs, its op counts, and the layers an SAE can be trained on, each with
// its shape (found by one probe pass, since exported models rarely carry shape information for inner tensors).
import type { CandidateLayer } from '../onnx/layers';
import { summarizeModel, type ImageInput, type ModelSummary } from '../onnx/inspect';
import type { ModelContext } from './modelContext';
import type { ModelRunner } from './modelRunner';
import { modelLayers } from './modelLayers';

export interface ModelInspection {
  file: string;
  name: string;
  sha256: string;
  hasCard: boolean;
  summary: ModelSummary;
  imageInput: ImageInput;
  classes: string[] | undefined;
  /** SAE-ready layers: every boundary tensor with spatial (rank-4) or token (rank-3) features. */
  layers: CandidateLayer[];
  /** The layers the card recommends, when it names any. */
  recommendedLayers: string[];
}

export async function inspectModel(ctx: ModelContext, runner: ModelRunner): Promise<ModelInspection> {
  const boundaries = modelLayers(ctx);
  const probe = new Float32Array(probeInput(ctx));
  const run = await runner.run(
    ctx,
    probe,
    1,
    boundaries.map((b) => b.tensor),
  );
  const layers: CandidateLayer[] = [];
  for (const b of boundaries) {
    const dims = run.outputs[b.tensor]!.dims;
    if (dims.length !== 3 && dims.length !== 4) continue;
    if (isInputEncoding(ctx, b.tensor)) continue;
    layers.push({ ...b, shape: dims.slice(1) });
  }
  return {
    file: ctx.file,
    name: ctx.card?.displayName ?? ctx.card?.name ?? ctx.file.split(/[\\/]/).pop()!,
    sha256: ctx.loaded.sha256,
    hasCard: ctx.card !== undefined,
    summary: summarizeModel(ctx.loaded.model),
    imageInput: ctx.imageInput,
    classes: ctx.classes,
    layers,
    recommendedLayers: (ctx.card?.layers ?? []).map((l) => l.name),
  };
}

/** A deterministic mid-grey-ish probe image in the model's encoding, so dynamic B-cos norms are non-degenerate. */
function probeInput(ctx: ModelContext): Float32Array {
  const { channels } = ctx.imageInput;
  const side = ctx.imageInput.height ?? ctx.preprocess.centerCrop;
  const plane = side * side;
  const out = new Float32Array(channels * plane);
  const raw = ctx.preprocess.addInverse ? channels / 2 : channels;
  let s = 12345;
  for (let c = 0; c < raw; c++) {
    for (let i = 0; i < plane; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const v = 0.25 + 0.5 * (s / 2 ** 32);
      out[c * plane + i] = v;
      if (ctx.preprocess.addInverse) out[(c + raw) * plane + i] = 1 - v;
    }
  }
  return out;
}

/** The `[x, 1 − x]` Concat that some models carry at their input is not a layer anyone wants an SAE on. */
function isInputEncoding(ctx: ModelContext, tensor: string): boolean {
  const p = ctx.index.producer.get(tensor);
  return !!p && p.opType === 'Concat' && p.input.includes(ctx.imageInput.name);
}
