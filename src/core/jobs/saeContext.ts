// An SAE checkpoint as the jobs use it: its weights (checked against the model and layer), an encoder, and its
// folder with the derived files (evaluation records, concept atlas, C² report; src/core/sae/saeFolder.ts).
import type { ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import type { SessionOptions } from '../onnx/session';
import type { SaeCodesFn, SaeEncodeFn } from '../evaluate/saeCodes';
import { loadSae, type SaeCheckpointCfg } from '../sae/checkpoint';
import type { SaeWeights } from '../sae/saeConfig';
import { SaeEncoder } from '../sae/saeEncoder';
import { openSaeFolder, type DerivedLocation, type SaeFolder } from '../sae/saeFolder';

export interface SaeContext {
  dir: string;
  /** The checkpoint folder and where its derived files are read and written. */
  folder: SaeFolder;
  sae: SaeWeights & { checkpoint: SaeCheckpointCfg };
  /** sha256 of sae.safetensors: what the atlas and evaluation are tied to. */
  sha256: string;
  /** The layer's tensor in the model. */
  tensor: string;
  encode: SaeEncodeFn;
  /** The codes alone, without the reconstruction. */
  codes: SaeCodesFn;
  dispose(): Promise<void>;
}

export async function openSaeContext(
  ctx: ModelContext,
  dir: string,
  where: DerivedLocation,
  session: SessionOptions = {},
): Promise<SaeContext> {
  const folder = await openSaeFolder(dir, where);
  const sae = await loadSae(dir, { modelSha256: ctx.loaded.sha256 });
  const layer = resolveModelLayer(ctx, sae.cfg.layer);
  const encoder = await SaeEncoder.create(sae, session);
  return {
    dir,
    folder,
    sae,
    sha256: folder.checkpointSha256,
    tensor: layer.tensor,
    encode: (v, n) => encoder.encode(v, n),
    codes: (v, n) => encoder.codes(v, n),
    dispose: () => encoder.dispose(),
  };
}
