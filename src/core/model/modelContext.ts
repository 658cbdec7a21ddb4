// Everything known about one model file once it is opened: the decoded graph and its indexes, the card, the image
// input, the preprocessing and the class names. Opening is pure reading; nothing runs yet.
import { FactError } from '../errors';
import { preprocessConfigFor } from '../data/preprocess';
import { indexGraph, type GraphIndex } from '../onnx/graphIndex';
import { findImageInput, type ImageInput } from '../onnx/inspect';
import { loadModelFile, type LoadedModel } from '../onnx/modelFile';
import { valueInfoShape } from '../onnx/types';
import { readCardFor, type ModelCard, type PreprocessConfig } from './card';

export interface ModelContext {
  file: string;
  loaded: LoadedModel;
  index: GraphIndex;
  card: ModelCard | undefined;
  imageInput: ImageInput;
  preprocess: PreprocessConfig;
  /** The output that holds the logits. */
  logitsOutput: string;
  /** Class names (from the card), or undefined when the model has none. */
  classes: string[] | undefined;
}

export async function openModel(file: string): Promise<ModelContext> {
  const loaded = await loadModelFile(file);
  const card = await readCardFor(file);
  const g = loaded.graph;
  const index = indexGraph(g);
  const imageInput = card?.input?.name
    ? findImageInput({ ...g, input: g.input.filter((v) => v.name === card.input!.name) }, file)
    : findImageInput(g, file);
  const logitsOutput = card?.output?.name ?? g.output[0]!.name;
  const out = g.output.find((o) => o.name === logitsOutput);
  if (!out) throw new FactError('bad-card', `The card of '${file}' names the output '${logitsOutput}', which the model does not have.`, { file });
  const shape = valueInfoShape(out);
  if (shape && shape.length !== 2) {
    throw new FactError('not-image-model', `'${file}' output '${logitsOutput}' has rank ${shape.length}; a classifier's logits are N×classes.`, { file });
  }
  const numClasses = shape && typeof shape[1] === 'number' ? shape[1] : undefined;
  if (card?.classes && numClasses !== undefined && card.classes.length !== numClasses) {
    throw new FactError('bad-card', `The card of '${file}' lists ${card.classes.length} classes but the model has ${numClasses} logits.`, { file });
  }
  return { file, loaded, index, card, imageInput, preprocess: preprocessConfigFor(imageInput, card, file), logitsOutput, classes: card?.classes };
}

export function className(ctx: ModelContext, k: number): string {
  return ctx.classes?.[k] ?? `class ${k}`;
}
