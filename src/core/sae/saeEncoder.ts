// Inference with a trained SAE: features [n,d] → top-k codes (indices, values) and the reconstruction, batched
// through one small ONNX graph. Works on raw features: the SAE is positively homogeneous (bias-free, ReLU, TopK), so
// SAE(z) = s·SAE(z/s) and the training-time input scale cancels; codes are in the features' own units.
import * as ort from 'onnxruntime-node';
import { GraphBuilder, attr } from '../onnx/graphBuilder';
import { encodeModel } from '../onnx/modelFile';
import { openSession, type ExecutionProvider, type RunnableSession, type SessionOptions } from '../onnx/session';
import type { OnnxModel } from '../onnx/types';
import type { SaeWeights } from './saeConfig';
import { topIndices } from './saeReference';
import { graphOps } from './trainStepGraph';

export interface SaeCodes {
  n: number;
  k: number;
  /** [n,k] latent indices, largest pre-activation first. An entry whose value is 0 is not active. */
  indices: Int32Array;
  /** [n,k] ReLU'd activations u = max(0, W_enc[j]·z). */
  values: Float32Array;
  /** [n,d] x̂ = Σ u_j W_dec[:,j]. */
  reconstruction: Float32Array;
}

/** The codes without the reconstruction (concept traces need only which latents fire where, and how much). */
export type SaeCodesOnly = Omit<SaeCodes, 'reconstruction'>;

const names = {
  features: 'features',
  wEnc: 'wEnc',
  decoderRows: 'decoderRows',
  indices: 'indices',
  values: 'values',
  reconstruction: 'reconstruction',
} as const;

export function buildSaeEncoderGraph(shape: { dModel: number; dictSize: number; k: number }): OnnxModel {
  const { dModel: d, dictSize: K, k } = shape;
  const g = new GraphBuilder('sae_topk_encode');
  const { op, ints, weightedRows } = graphOps(g, 'float32', d);
  const z = g.input(names.features, 'float32', ['n', d]);
  const wEnc = g.input(names.wEnc, 'float32', [K, d]);
  const rows = g.input(names.decoderRows, 'float32', [K, d]);
  const pre = op('Gemm', [z, wEnc], { transB: attr.int(1) });
  const [vals, idx] = g.node('TopK', [pre, ints([k])], { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(1) }, [
    'topValues',
    names.indices,
  ]) as [string, string];
  const u = op('Relu', [vals], {}, names.values);
  op('Identity', [weightedRows(u, op('Gather', [rows, idx], { axis: attr.int(0) }))], {}, names.reconstruction);
  g.output(names.indices, 'int64', ['n', k]);
  g.output(names.values, 'float32', ['n', k]);
  g.output(names.reconstruction, 'float32', ['n', d]);
  return g.model(18);
}

export class SaeEncoder {
  private constructor(
    readonly sae: SaeWeights,
    private readonly session: RunnableSession,
    private readonly decoderRows: Float32Array,
    private readonly batchSize: number,
    readonly executionProvider: ExecutionProvider,
    readonly fallbackReason: string | undefined,
  ) {}

  static async create(sae: SaeWeights, opts: SessionOptions & { batchSize?: number } = {}): Promise<SaeEncoder> {
    const { dModel: d, dictSize: K } = sae.cfg;
    const opened = await openSession(encodeModel(buildSaeEncoderGraph(sae.cfg)), {
      executionProvider: opts.executionProvider ?? 'cpu',
      ...(opts.threads ? { threads: opts.threads } : {}),
    });
    // Decoder columns as contiguous rows, once, so each batch gathers k rows per vector.
    const rows = new Float32Array(K * d);
    for (let p = 0; p < d; p++) for (let j = 0; j < K; j++) rows[j * d + p] = sae.wDec[p * K + j]!;
    return new SaeEncoder(sae, opened.session, rows, opts.batchSize ?? 4096, opened.executionProvider, opened.fallbackReason);
  }

  async encode(features: Float32Array, n: number): Promise<SaeCodes> {
    return (await this.run(features, n, true)) as SaeCodes;
  }

  /** The codes alone: onnxruntime skips the reconstruction's gather and sums (a third of the run at k 8, K 1,024). */
  codes(features: Float32Array, n: number): Promise<SaeCodesOnly> {
    return this.run(features, n, false);
  }

  private async run(features: Float32Array, n: number, reconstruct: boolean): Promise<SaeCodesOnly & { reconstruction?: Float32Array }> {
    const { dModel: d, dictSize: K, k } = this.sae.cfg;
    if (features.length !== n * d) throw new Error(`encode: ${features.length} values are not ${n} vectors of ${d}.`);
    const out: SaeCodesOnly & { reconstruction?: Float32Array } = {
      n,
      k,
      indices: new Int32Array(n * k),
      values: new Float32Array(n * k),
      ...(reconstruct ? { reconstruction: new Float32Array(n * d) } : {}),
    };
    const fetches: string[] = reconstruct ? [names.indices, names.values, names.reconstruction] : [names.indices, names.values];
    const wEnc = new ort.Tensor('float32', this.sae.wEnc, [K, d]);
    const rows = new ort.Tensor('float32', this.decoderRows, [K, d]);
    for (let start = 0; start < n; start += this.batchSize) {
      const m = Math.min(this.batchSize, n - start);
      const r = await this.session.run(
        {
          [names.features]: new ort.Tensor('float32', features.subarray(start * d, (start + m) * d), [m, d]),
          [names.wEnc]: wEnc,
          [names.decoderRows]: rows,
        },
        fetches,
      );
      const idx = r[names.indices]!.data as BigInt64Array;
      for (let i = 0; i < idx.length; i++) out.indices[start * k + i] = Number(idx[i]);
      out.values.set(r[names.values]!.data as Float32Array, start * k);
      out.reconstruction?.set(r[names.reconstruction]!.data as Float32Array, start * d);
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** The same encoding in plain TypeScript (float64 sums), for tests and small jobs. */
export function topkEncode(sae: SaeWeights, features: ArrayLike<number>, n: number): SaeCodes {
  const { dModel: d, dictSize: K, k } = sae.cfg;
  const out: SaeCodes = { n, k, indices: new Int32Array(n * k), values: new Float32Array(n * k), reconstruction: new Float32Array(n * d) };
  const pre = new Float64Array(K);
  const rec = new Float64Array(d);
  for (let b = 0; b < n; b++) {
    rec.fill(0);
    for (let j = 0; j < K; j++) {
      let s = 0;
      for (let p = 0; p < d; p++) s += sae.wEnc[j * d + p]! * features[b * d + p]!;
      pre[j] = s;
    }
    topIndices(pre, k).forEach((j, slot) => {
      const u = Math.max(0, pre[j]!);
      out.indices[b * k + slot] = j;
      out.values[b * k + slot] = u;
      for (let p = 0; p < d; p++) rec[p]! += u * sae.wDec[p * K + j]!;
    });
    out.reconstruction.set(rec, b * d);
  }
  return out;
}
