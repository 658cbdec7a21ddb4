// An SAE checkpoint as the jobs use it: its weights (checked against the model and layer), an encoder, and the
// files kept beside it — the evaluation records, the concept atlas, the consistency scores.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FactError } from '../errors';
import type { DatasetSpec } from '../data/openDataset';
import type { EvaluationMetrics } from '../evaluate/evaluate';
import type { SaeEncodeFn } from '../evaluate/saeCodes';
import type { ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import type { SessionOptions } from '../onnx/session';
import { checkpointFiles, loadSae, type SaeCheckpointCfg } from '../sae/checkpoint';
import type { SaeWeights } from '../sae/saeConfig';
import { SaeEncoder } from '../sae/saeEncoder';
import { sha256Hex } from '../util/sha256';
import { writeFileAtomic } from '../util/files';

export const besideCheckpoint = {
  evaluation: 'evaluation.safetensors',
  evaluationJson: 'evaluation.json',
  consistency: 'consistency.json',
  histogram: 'consistency.png',
} as const;

export interface SaeContext {
  dir: string;
  sae: SaeWeights & { checkpoint: SaeCheckpointCfg };
  /** sha256 of sae.safetensors: what the atlas and evaluation are tied to. */
  sha256: string;
  /** The layer's tensor in the model. */
  tensor: string;
  encode: SaeEncodeFn;
  dispose(): Promise<void>;
}

export interface EvaluationSummary {
  checkpointSha256: string;
  dataset: DatasetSpec;
  datasetSource: string;
  metrics: EvaluationMetrics;
  recordsSha256: string;
  evaluatedAt: string;
}

export async function openSaeContext(ctx: ModelContext, dir: string, session: SessionOptions = {}): Promise<SaeContext> {
  if (!existsSync(path.join(dir, checkpointFiles.cfg))) {
    throw new FactError('bad-checkpoint', `'${dir}' is not an SAE checkpoint folder: it has no ${checkpointFiles.cfg}.`, { file: dir });
  }
  const sae = await loadSae(dir, { modelSha256: ctx.loaded.sha256 });
  const layer = resolveModelLayer(ctx, sae.cfg.layer);
  const encoder = await SaeEncoder.create(sae, session);
  const sha256 = sha256Hex(await fs.readFile(path.join(dir, checkpointFiles.weights)));
  return { dir, sae, sha256, tensor: layer.tensor, encode: (v, n) => encoder.encode(v, n), dispose: () => encoder.dispose() };
}

export async function readEvaluationSummary(dir: string): Promise<EvaluationSummary | undefined> {
  const file = path.join(dir, besideCheckpoint.evaluationJson);
  if (!existsSync(file)) return undefined;
  return JSON.parse(await fs.readFile(file, 'utf8')) as EvaluationSummary;
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}
