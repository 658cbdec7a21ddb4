// Runs a model (optionally with tapped intermediate tensors) through cached onnxruntime sessions.
import * as ort from 'onnxruntime-node';
import { FactError } from '../errors';
import { openSession, type OpenedSession, type SessionOptions } from '../onnx/session';
import { SessionCache } from '../onnx/sessionCache';
import { encodeWithExtraOutputs } from '../onnx/surgery';
import { runInFixedBatches } from './fixedBatch';
import type { ModelContext } from './modelContext';

export interface RunResult {
  outputs: Record<string, { data: Float32Array; dims: number[] }>;
  executionProvider: string;
  fallbackReason?: string;
}

export class ModelRunner {
  private readonly cache: SessionCache;

  constructor(
    private readonly options: SessionOptions = {},
    capacity = 4,
  ) {
    this.cache = new SessionCache(capacity);
  }

  private session(ctx: ModelContext, extraOutputs: string[]): Promise<OpenedSession> {
    const taps = [...new Set(extraOutputs)].sort();
    const key = `${ctx.loaded.sha256}|${taps.join(',')}|${this.options.executionProvider ?? 'cpu'}`;
    return this.cache.get(key, () =>
      openSession(taps.length ? encodeWithExtraOutputs(ctx.loaded.model, taps) : ctx.loaded.bytes, this.options),
    );
  }

  /** Runs a batch of preprocessed images (N×C×H×W, flattened) and returns the logits plus any tapped tensors. */
  async run(ctx: ModelContext, batch: Float32Array, n: number, extraOutputs: string[] = []): Promise<RunResult> {
    const { channels, height, width } = ctx.imageInput;
    const side = ctx.preprocess.centerCrop;
    const dims = [n, channels, height ?? side, width ?? side];
    const expected = dims.reduce((a, d) => a * d, 1);
    if (batch.length !== expected) {
      throw new FactError('bad-input', `The input batch has ${batch.length} values; '${ctx.file}' needs ${dims.join('×')} = ${expected}.`, {
        file: ctx.file,
      });
    }
    const opened = await this.session(ctx, extraOutputs);
    const wanted = [ctx.logitsOutput, ...extraOutputs];
    // A fixed-batch model runs in batches of its own size.
    const outputs = await runInFixedBatches(
      ctx.fixedBatch,
      { [ctx.imageInput.name]: { data: batch, dims } },
      [ctx.imageInput.name],
      async (f) => {
        const image = f[ctx.imageInput.name]!;
        let result: ort.InferenceSession.OnnxValueMapType;
        try {
          result = await opened.session.run({ [ctx.imageInput.name]: new ort.Tensor('float32', image.data, image.dims) }, wanted);
        } catch (e) {
          throw new FactError('bad-input', `onnxruntime could not run '${ctx.file}': ${(e as Error).message.split('\n')[0]}`, {
            file: ctx.file,
          });
        }
        const out: RunResult['outputs'] = {};
        for (const name of wanted) {
          const t = result[name]!;
          out[name] = { data: t.data as Float32Array, dims: t.dims.map(Number) };
        }
        return out;
      },
    );
    return {
      outputs,
      executionProvider: opened.executionProvider,
      ...(opened.fallbackReason ? { fallbackReason: opened.fallbackReason } : {}),
    };
  }

  dispose(): Promise<void> {
    return this.cache.clear();
  }
}
