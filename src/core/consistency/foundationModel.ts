// The foundation model whose features C² compares: an ONNX file the user points to (DINOv2 ViT-S/14 by default,
// exported by models/recipes/export.py), described by a JSON file beside it, or the embedded default's own
// reference feature model. Its output must be a feature map: N×D×h×w, or N×T×D tokens on a square grid (a leading
// class token is dropped).
import { existsSync, promises as fs } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { FactError } from '../errors';
import { resizeBilinear } from '../data/resize';
import { loadModelFile } from '../onnx/modelFile';
import { openSession, type OpenedSession, type SessionOptions } from '../onnx/session';
import { realInputInfos } from '../onnx/inspect';

export interface FoundationSpec {
  /** Input side the model takes (e.g. 224 for DINOv2 ViT-S/14). */
  size: number;
  channels: 1 | 3;
  mean: number[];
  std: number[];
  input?: string;
  output?: string;
  description?: string;
}

export interface FeatureMaps {
  data: Float32Array;
  n: number;
  dim: number;
  h: number;
  w: number;
}

export function foundationSpecPath(file: string): string {
  return file.replace(/\.onnx$/i, '.json');
}

export class FoundationModel {
  private constructor(
    readonly file: string,
    readonly spec: FoundationSpec,
    private readonly opened: OpenedSession,
    private readonly input: string,
    private readonly output: string,
  ) {}

  static async open(file: string, options: SessionOptions = {}): Promise<FoundationModel> {
    const loaded = await loadModelFile(file);
    const specFile = foundationSpecPath(file);
    let spec: FoundationSpec;
    if (existsSync(specFile)) spec = JSON.parse(await fs.readFile(specFile, 'utf8')) as FoundationSpec;
    else {
      // Without a description: take the input's shape, no normalisation.
      const inp = realInputInfos(loaded.graph)[0];
      const side = inp?.shape?.[2];
      const ch = inp?.shape?.[1];
      if (typeof side !== 'number' || (ch !== 1 && ch !== 3)) {
        throw new FactError(
          'bad-input',
          `The foundation model '${file}' has no ${specFile} and its input does not say its image size and channels.`,
          { file },
        );
      }
      spec = { size: side, channels: ch, mean: Array(ch).fill(0), std: Array(ch).fill(1) };
    }
    const input = spec.input ?? realInputInfos(loaded.graph)[0]!.name;
    const output = spec.output ?? loaded.graph.output[0]!.name;
    const opened = await openSession(loaded.bytes, options);
    const model = new FoundationModel(file, spec, opened, input, output);
    await model.features(new Float32Array(spec.channels * spec.size * spec.size).fill(0.5), spec.channels, spec.size, 1); // checks the output layout now
    return model;
  }

  /**
   * Features of n images given as [0, 1] planes (channels × side × side each, the B-cos model's view of the image
   * before its [x, 1 − x] encoding). Images are resized to the model's size and normalised.
   */
  async features(images: Float32Array, channels: number, side: number, n: number): Promise<FeatureMaps> {
    const { size, channels: want, mean, std } = this.spec;
    const per = want * size * size;
    const batch = new Float32Array(n * per);
    for (let b = 0; b < n; b++) {
      for (let c = 0; c < want; c++) {
        const src = images.subarray(
          (b * channels + Math.min(c, channels - 1)) * side * side,
          (b * channels + Math.min(c, channels - 1) + 1) * side * side,
        );
        const plane = side === size ? src : resizeBilinear({ width: side, height: side, channels: 1, data: src }, size, size).data;
        for (let p = 0; p < size * size; p++) batch[b * per + c * size * size + p] = (plane[p]! - mean[c]!) / std[c]!;
      }
    }
    const r = await this.opened.session.run({ [this.input]: new ort.Tensor('float32', batch, [n, want, size, size]) }, [this.output]);
    const t = r[this.output]!;
    const dims = t.dims.map(Number);
    const data = t.data as Float32Array;
    if (dims.length === 4) return { data, n, dim: dims[1]!, h: dims[2]!, w: dims[3]! };
    if (dims.length === 3) {
      const [, tokens, dim] = dims as [number, number, number];
      const grid = Math.round(Math.sqrt(tokens));
      const skip = grid * grid === tokens ? 0 : Math.round(Math.sqrt(tokens - 1)) ** 2 === tokens - 1 ? 1 : -1;
      if (skip >= 0) {
        const g = Math.round(Math.sqrt(tokens - skip));
        const out = new Float32Array(n * dim * g * g);
        for (let b = 0; b < n; b++)
          for (let q = 0; q < g * g; q++)
            for (let d = 0; d < dim; d++) out[(b * dim + d) * g * g + q] = data[(b * tokens + q + skip) * dim + d]!;
        return { data: out, n, dim, h: g, w: g };
      }
    }
    throw new FactError(
      'bad-input',
      `The foundation model '${this.file}' does not output a feature map: its output '${this.output}' has shape [${dims.join(', ')}] (C² needs N×D×h×w, or N×T×D tokens on a square grid).`,
      { file: this.file },
    );
  }

  async dispose(): Promise<void> {
    await this.opened.session.release();
  }
}
