// Everything known about one model file once it is opened: the decoded graph and its indexes, the card, the image
// input, the preprocessing and the class names. Opening normalises the graph (src/core/onnx/normalize.ts), which
// runs it once in a child process; every later step works on the normalised graph, never on the file.
import { FactError } from '../errors';
import { preprocessConfigFor } from '../data/preprocess';
import { indexGraph, type GraphIndex } from '../onnx/graphIndex';
import { findImageInput, type ImageInput } from '../onnx/inspect';
import { encodeModel, loadModelFile, type LoadedModel } from '../onnx/modelFile';
import { warmIsolatedRunner } from '../onnx/isolatedRun';
import { normalizeModel } from '../onnx/normalize';
import type { OnnxNode } from '../onnx/types';
import { valueInfoShape } from '../onnx/types';
import { readCardFor, type ModelCard, type PreprocessConfig } from './card';

export interface ModelContext {
  file: string;
  /** The normalised model (its bytes re-encoded); `sha256` stays the file's. */
  loaded: LoadedModel;
  /** The batch size the model's input fixes, or undefined when the batch axis is symbolic. */
  fixedBatch: number | undefined;
  /** Shape tensors that follow the batch size and so could not be folded, with the node computing each. */
  batchDependent: Map<string, OnnxNode>;
  /** The shape of every tensor the graph computes, at batch 1 (or the fixed batch), from the normalisation's run. */
  shapes: Map<string, number[]>;
  index: GraphIndex;
  card: ModelCard | undefined;
  imageInput: ImageInput;
  preprocess: PreprocessConfig;
  /** The output that holds the logits. */
  logitsOutput: string;
  /** Class names (from the card), or undefined when the model has none. */
  classes: string[] | undefined;
}

export interface OpenOptions {
  /** Off only in tests that show what the normalisation prevents. */
  dropEmptyInputs?: boolean;
}

export async function openModel(file: string, options: OpenOptions = {}): Promise<ModelContext> {
  warmIsolatedRunner();
  const fromFile = await loadModelFile(file);
  const card = await readCardFor(file);
  const g0 = fromFile.graph;
  const imageInput = card?.input?.name
    ? findImageInput({ ...g0, input: g0.input.filter((v) => v.name === card.input!.name) }, file)
    : findImageInput(g0, file);
  const preprocess = preprocessConfigFor(imageInput, card, file);
  const batchDim = valueInfoShape(g0.input.find((v) => v.name === imageInput.name)!)?.[0];
  const fixedBatch = typeof batchDim === 'number' ? batchDim : undefined;
  const side = preprocess.centerCrop;
  const normalized = await normalizeModel(fromFile.model, {
    source: file,
    imageInput: imageInput.name,
    imageDims: [imageInput.channels, imageInput.height ?? side, imageInput.width ?? side],
    ...(fixedBatch ? { fixedBatch } : {}),
    ...(options.dropEmptyInputs === false ? { dropEmptyInputs: false } : {}),
  });
  const changed = normalized.droppedEmptyInputs > 0 || normalized.folded.length > 0;
  const loaded: LoadedModel = changed
    ? { ...fromFile, model: normalized.model, graph: normalized.model.graph!, bytes: encodeModel(normalized.model) }
    : fromFile;
  const g = loaded.graph;
  const index = indexGraph(g);
  const logitsOutput = card?.output?.name ?? g.output[0]!.name;
  const out = g.output.find((o) => o.name === logitsOutput);
  if (!out)
    throw new FactError('bad-card', `The card of '${file}' names the output '${logitsOutput}', which the model does not have.`, { file });
  const shape = valueInfoShape(out);
  if (shape && shape.length !== 2) {
    throw new FactError(
      'not-image-model',
      `'${file}' output '${logitsOutput}' has rank ${shape.length}; a classifier's logits are N×classes.`,
      { file },
    );
  }
  const numClasses = shape && typeof shape[1] === 'number' ? shape[1] : undefined;
  if (card?.classes && numClasses !== undefined && card.classes.length !== numClasses) {
    throw new FactError('bad-card', `The card of '${file}' lists ${card.classes.length} classes but the model has ${numClasses} logits.`, {
      file,
    });
  }
  return {
    file,
    loaded,
    fixedBatch,
    batchDependent: normalized.batchDependent,
    shapes: normalized.shapes,
    index,
    card,
    imageInput,
    preprocess,
    logitsOutput,
    classes: card?.classes,
  };
}

export function className(ctx: ModelContext, k: number): string {
  return ctx.classes?.[k] ?? `class ${k}`;
}
