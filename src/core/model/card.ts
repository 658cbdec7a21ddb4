// The model card: what a model file alone cannot say (class names, preprocessing, SAE-ready layers, provenance).
// It sits beside the model as card.json; without one, defaults are inferred from the model's image input.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { FactError, isFactError } from '../errors';
import { readFileOrThrow } from '../util/files';

export interface PreprocessConfig {
  colorSpace: 'grayscale' | 'rgb';
  /** Shorter side is resized to this many pixels (bilinear, antialiased), then a centred square crop is taken. */
  resize: number;
  centerCrop: number;
  /** Append 1 − x channels (B-cos encoding) before feeding the model. */
  addInverse: boolean;
}

export interface CardLayer {
  name: string;
  tensor: string;
  shape: number[];
}

export interface ModelCard {
  format: number;
  name: string;
  displayName?: string;
  model: string;
  sha256?: string;
  architecture?: string;
  input?: { name: string; shape: (number | null)[]; encoding?: string };
  output?: { name: string; logitBias?: number };
  preprocessing?: Partial<PreprocessConfig> & { scale?: string };
  classes?: string[];
  layers?: CardLayer[];
  metrics?: Record<string, number>;
  data?: Record<string, { images: string; labels: string; count: number }>;
  samples?: string[];
  [key: string]: unknown;
}

export function cardPathFor(modelFile: string): string {
  return path.join(path.dirname(modelFile), 'card.json');
}

/** Reads the card beside a model, if there is one; a card that does not parse is an error, not a silent default. */
export async function readCardFor(modelFile: string): Promise<ModelCard | undefined> {
  const file = cardPathFor(modelFile);
  if (!existsSync(file)) return undefined;
  let card: ModelCard;
  try {
    card = JSON.parse((await readFileOrThrow(file, 'model card')).toString('utf8')) as ModelCard;
  } catch (e) {
    if (isFactError(e)) throw e;
    throw new FactError('bad-card', `The model card '${file}' is not valid JSON: ${(e as Error).message}`, { file });
  }
  if (typeof card !== 'object' || card === null || typeof card.name !== 'string') {
    throw new FactError('bad-card', `The model card '${file}' has no "name".`, { file });
  }
  if (card.classes !== undefined && !(Array.isArray(card.classes) && card.classes.every((c) => typeof c === 'string'))) {
    throw new FactError('bad-card', `The model card '${file}' has a "classes" entry that is not a list of names.`, { file });
  }
  return card;
}
