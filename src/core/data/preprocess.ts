// B-cos preprocessing: resize the shorter side, centre-crop, scale to [0, 1], lay out as C×H×W, and append the
// inverse channels [x, 1 − x] (6 channels for RGB, 2 for grayscale) when the model takes the encoded input.
import { FactError } from '../errors';
import type { ImageInput } from '../onnx/inspect';
import type { ModelCard, PreprocessConfig } from '../model/card';
import type { RawImage } from './rawImage';
import { asFloatImage, resizeBilinear } from './resize';

export function preprocessImage(img: RawImage, cfg: PreprocessConfig): Float32Array {
  if ((cfg.colorSpace === 'grayscale') !== (img.channels === 1)) {
    throw new FactError('bad-input', `The image has ${img.channels} channel(s) but the model expects ${cfg.colorSpace}.`);
  }
  // Resize so the shorter side is cfg.resize (torchvision's Resize(int) rule for the longer side).
  const short = Math.min(img.width, img.height);
  const scale = cfg.resize / short;
  const w = img.width <= img.height ? cfg.resize : Math.floor(img.width * scale);
  const h = img.height < img.width ? cfg.resize : Math.floor(img.height * scale);
  const resized = w === img.width && h === img.height ? asFloatImage(img) : resizeBilinear(img, w, h);
  // Centre crop (torchvision rounds the offset); a crop larger than the image pads with zeros.
  const s = cfg.centerCrop;
  const top = Math.round((h - s) / 2);
  const left = Math.round((w - s) / 2);
  const c = img.channels;
  const channelsOut = cfg.addInverse ? 2 * c : c;
  const out = new Float32Array(channelsOut * s * s);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < s; y++) {
      const sy = y + top;
      for (let x = 0; x < s; x++) {
        const sx = x + left;
        const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        const v = inside ? Math.min(255, Math.max(0, resized.data[(sy * w + sx) * c + ch]!)) / 255 : 0;
        out[(ch * s + y) * s + x] = v;
        if (cfg.addInverse) out[((ch + c) * s + y) * s + x] = 1 - v;
      }
    }
  }
  return out;
}

/** The preprocessing for a model: the card's when it has one, otherwise inferred from the image input's shape. */
export function preprocessConfigFor(input: ImageInput, card: ModelCard | undefined, file = 'model'): PreprocessConfig {
  const p = card?.preprocessing ?? {};
  const side = input.height ?? p.centerCrop ?? null;
  if (side === null) {
    throw new FactError(
      'bad-card',
      `'${file}' takes images of any size and has no card.json saying which size to use; add "preprocessing": {"resize": …, "centerCrop": …} to its card.`,
      { file },
    );
  }
  if (input.height !== null && input.width !== null && input.height !== input.width) {
    throw new FactError('unsupported-model', `'${file}' takes ${input.height}×${input.width} images; only square inputs are supported.`, {
      file,
    });
  }
  return {
    colorSpace: p.colorSpace ?? input.colorSpace,
    resize: p.resize ?? side,
    centerCrop: p.centerCrop ?? side,
    addInverse: p.addInverse ?? input.encoding === 'encoded',
  };
}

/** Checks that what preprocessing makes fits the model's input tensor. */
export function checkInputFits(input: ImageInput, cfg: PreprocessConfig, file = 'model'): void {
  const channels = (cfg.colorSpace === 'grayscale' ? 1 : 3) * (cfg.addInverse ? 2 : 1);
  if (channels !== input.channels) {
    throw new FactError(
      'bad-input',
      `Preprocessing makes ${channels}-channel images but '${file}' input '${input.name}' takes ${input.channels} channels.`,
      { file },
    );
  }
  if (input.height !== null && input.height !== cfg.centerCrop) {
    throw new FactError(
      'bad-input',
      `Preprocessing makes ${cfg.centerCrop}×${cfg.centerCrop} images but '${file}' input '${input.name}' takes ${input.height}×${input.width}.`,
      { file },
    );
  }
}
