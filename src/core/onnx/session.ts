// onnxruntime sessions on a chosen execution provider. onnxruntime-node throws (instead of falling back) when a
// provider's libraries are missing, so a failed CUDA/WebGPU start is caught, reported, and retried on the CPU.
import * as ort from 'onnxruntime-node';

export type ExecutionProvider = 'cpu' | 'cuda' | 'webgpu';
export const executionProviders: readonly ExecutionProvider[] = ['cpu', 'cuda', 'webgpu'];

/** The onnxruntime build doing the computing (recorded with trained checkpoints: results can change between versions). */
export const onnxruntimeVersion: string = ort.env.versions.node ?? ort.env.versions.common;

export interface SessionOptions {
  executionProvider?: ExecutionProvider;
  /** Intra-op threads; 0 or undefined lets onnxruntime choose. */
  threads?: number;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider the session really runs on. */
  executionProvider: ExecutionProvider;
  /** Why the requested provider was not used, when it was not. */
  fallbackReason?: string;
}

export async function openSession(model: Uint8Array, opts: SessionOptions = {}): Promise<OpenedSession> {
  const requested = opts.executionProvider ?? 'cpu';
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    // Spinning threads steal the CPU from the editor and from other workers on small machines.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  if (requested !== 'cpu') {
    try {
      const session = await ort.InferenceSession.create(model, { ...base, executionProviders: [requested] });
      return { session, executionProvider: requested };
    } catch (e) {
      const reason = `${requested} is not available (${firstLine((e as Error).message)}); running on the CPU instead.`;
      const session = await ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] });
      return { session, executionProvider: 'cpu', fallbackReason: reason };
    }
  }
  const session = await ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] });
  return { session, executionProvider: 'cpu' };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 300);
}

export function float32Tensor(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}
