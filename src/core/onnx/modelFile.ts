// Reading, decoding and encoding ONNX model files, with errors a person can act on.
import { FactError } from '../errors';
import { readFileOrThrow } from '../util/files';
import { sha256Hex } from '../util/sha256';
import { modelProtoType } from './schema';
import { int, type OnnxGraph, type OnnxModel } from './types';

export interface LoadedModel {
  file: string;
  bytes: Uint8Array;
  sha256: string;
  model: OnnxModel;
  graph: OnnxGraph;
}

export async function loadModelFile(file: string): Promise<LoadedModel> {
  const bytes = await readFileOrThrow(file, 'model file');
  const model = decodeModel(bytes, file);
  return { file, bytes, sha256: sha256Hex(bytes), model, graph: model.graph! };
}

/** Decodes ONNX bytes. Protobuf is permissive (many random files decode to something), so the result is checked
 *  for what every ONNX model has: an IR version, an opset, a graph with nodes, inputs and outputs. */
export function decodeModel(bytes: Uint8Array, source = 'model'): OnnxModel {
  const notOnnx = (why: string) => new FactError('not-onnx', `'${source}' is not an ONNX model: ${why}.`, { file: source });
  let model: OnnxModel;
  try {
    model = modelProtoType().decode(bytes) as unknown as OnnxModel;
  } catch (e) {
    throw notOnnx(`it does not decode as an ONNX protobuf (${(e as Error).message})`);
  }
  const g = model.graph;
  if (int(model.irVersion) <= 0 || model.opsetImport.length === 0) throw notOnnx('it has no IR version or opset');
  if (!g || g.node.length === 0) throw notOnnx('it has no graph nodes');
  if (g.input.length === 0 || g.output.length === 0) throw notOnnx('its graph has no inputs or no outputs');
  const external = g.initializer.find((t) => t.dataLocation === 1 || t.externalData.length > 0);
  if (external) {
    throw new FactError(
      'unsupported-model',
      `'${source}' keeps the weight '${external.name}' in an external data file; save the model with all weights inside the .onnx file (onnx.save(model, path, save_as_external_data=False)).`,
      { file: source, tensor: external.name },
    );
  }
  return model;
}

export function encodeModel(model: OnnxModel): Uint8Array {
  return modelProtoType()
    .encode(model as never)
    .finish();
}

/** The default-domain opset version the model declares. */
export function opsetVersion(model: OnnxModel): number {
  const d = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return d ? int(d.version) : 0;
}
