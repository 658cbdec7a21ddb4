// onnxruntime sessions on a chosen execution provider. onnxruntime-node throws (instead of falling back) when a
// provider cannot start, so a failed CUDA/WebGPU start is caught, explained (what to install) and retried on the CPU.
// A graph that starts on WebGPU but fails at its first run (a kernel that does not compile) falls back to the CPU
// for that session, naming the node. Every run records where it ran (providerUsage), so results can say so.
import * as ort from 'onnxruntime-node';
import { checkCudaLibraries } from './cudaLibraries';
import { chooseAutoProvider, explainProviderFailure, webgpuAdapterLabel } from './devices';
import { decodeModel, encodeModel } from './modelFile';
import { recordProviderUse } from './providerUsage';
import { rewriteForWebGpu } from './webgpuRewrites';

export type ExecutionProvider = 'cpu' | 'cuda' | 'webgpu';
/** What a user may ask for: a provider, or `auto` (a real GPU when one works, else the CPU). */
export type RequestedProvider = ExecutionProvider | 'auto';

/** The onnxruntime build doing the computing (recorded with trained checkpoints: results can change between versions). */
export const onnxruntimeVersion: string = ort.env.versions.node ?? ort.env.versions.common;

export interface SessionOptions {
  executionProvider?: RequestedProvider;
  /** Intra-op threads; 0 or undefined lets onnxruntime choose. */
  threads?: number;
  /** A folder holding onnxruntime's CUDA provider libraries (see cudaLibraries.ts). */
  cudaLibraryPath?: string;
  /** A folder where the explanation engine caches its optimised CPU graphs (see engine/graphCache.ts); none when unset. */
  graphCache?: string;
}

/** What callers run: the subset of ort.InferenceSession the project uses. */
export interface RunnableSession {
  run(feeds: ort.InferenceSession.FeedsType, fetches?: readonly string[]): Promise<ort.InferenceSession.ReturnType>;
  release(): Promise<void>;
}

export interface OpenedSession {
  session: RunnableSession;
  /** The provider the session really runs on (it can change to 'cpu' after a failed first WebGPU run). */
  readonly executionProvider: ExecutionProvider;
  /** Why the requested provider was not used, when it was not. */
  readonly fallbackReason?: string | undefined;
}

/** onnxruntime's options for a session with these settings (no provider chosen yet). */
export function baseOptions(opts: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    // FACT_ORT_LOG_SEVERITY=0 prints onnxruntime's verbose log, including where each node was placed (tests use it).
    logSeverityLevel: Number(process.env.FACT_ORT_LOG_SEVERITY ?? 3) as 0 | 1 | 2 | 3 | 4,
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    // Spinning threads steal the CPU from the editor and from other workers on small machines.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** A session that remembers where it runs and moves to the CPU if its first GPU run fails. */
class ProviderSession implements OpenedSession, RunnableSession {
  private ran = false;

  constructor(
    private current: ort.InferenceSession,
    public executionProvider: ExecutionProvider,
    public fallbackReason: string | undefined,
    private readonly reopenOnCpu: () => Promise<ort.InferenceSession>,
    private readonly adapter: string | undefined,
  ) {}

  get session(): RunnableSession {
    return this;
  }

  async run(feeds: ort.InferenceSession.FeedsType, fetches?: readonly string[]): Promise<ort.InferenceSession.ReturnType> {
    let result: ort.InferenceSession.ReturnType;
    try {
      result = fetches ? await this.current.run(feeds, fetches) : await this.current.run(feeds);
    } catch (e) {
      if (this.executionProvider === 'cpu' || this.ran) throw e;
      // The first run on a GPU provider compiles its kernels; one that fails is a graph this provider cannot run.
      const failed = this.executionProvider;
      this.fallbackReason = `${failed} could not run ${failingNode(e)} (${firstLine((e as Error).message)}); this graph runs on the CPU instead.`;
      await this.current.release().catch(() => undefined);
      this.current = await this.reopenOnCpu();
      this.executionProvider = 'cpu';
      result = fetches ? await this.current.run(feeds, fetches) : await this.current.run(feeds);
    }
    this.ran = true;
    recordProviderUse(this.executionProvider, this.fallbackReason, this.executionProvider === 'webgpu' ? this.adapter : undefined);
    return result;
  }

  release(): Promise<void> {
    return this.current.release();
  }
}

/** The node an onnxruntime run error names ("… running Conv node. Name:'x' …"), or "a node". */
export function failingNode(e: unknown): string {
  const m = /running (\w+) node\. Name:'([^']*)'/.exec((e as Error).message ?? '');
  return m ? `node '${m[2]}' (${m[1]})` : 'a node';
}

/** Whether sessions with these options run on the CPU ('auto' decides once per process), and the note 'auto' left. */
export async function runsOnCpu(opts: SessionOptions): Promise<{ cpu: boolean; note?: string }> {
  const requested = opts.executionProvider ?? 'cpu';
  if (requested === 'cpu') return { cpu: true };
  if (requested !== 'auto') return { cpu: false };
  const choice = await chooseAutoProvider(opts);
  return { cpu: choice.provider === 'cpu', ...(choice.note ? { note: choice.note } : {}) };
}

/** A CPU session made elsewhere (e.g. from a cached optimised graph), recorded like every other session. */
export function openedOnCpu(session: ort.InferenceSession, note?: string): OpenedSession {
  return new ProviderSession(session, 'cpu', note, () => Promise.reject(new Error('A CPU session is never reopened.')), undefined);
}

export async function openSession(model: Uint8Array, opts: SessionOptions = {}): Promise<OpenedSession> {
  const base = baseOptions(opts);
  const onCpu = () => ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] });
  let requested = opts.executionProvider ?? 'cpu';
  let autoNote: string | undefined;
  if (requested === 'auto') {
    const choice = await chooseAutoProvider(opts);
    requested = choice.provider;
    autoNote = choice.note;
  }
  if (requested === 'cpu') return new ProviderSession(await onCpu(), 'cpu', autoNote, onCpu, undefined);
  const cudaProblem = requested === 'cuda' ? checkCudaLibraries(opts.cudaLibraryPath).problem : undefined;
  if (cudaProblem)
    return new ProviderSession(await onCpu(), 'cpu', `cuda is not available: ${cudaProblem} Running on the CPU instead.`, onCpu, undefined);
  try {
    const { bytes, provider } = requested === 'webgpu' ? forWebGpu(model) : { bytes: model, provider: requested };
    const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: [provider] });
    return new ProviderSession(session, requested, undefined, onCpu, requested === 'webgpu' ? webgpuAdapterLabel() : undefined);
  } catch (e) {
    const reason = `${requested} is not available: ${explainProviderFailure(requested, e, opts)} Running on the CPU instead.`;
    return new ProviderSession(await onCpu(), 'cpu', reason, onCpu, undefined);
  }
}

/** The model with the WebGPU rewrites applied (the same bytes when none apply) and the provider's options. */
function forWebGpu(model: Uint8Array): { bytes: Uint8Array; provider: ort.InferenceSession.ExecutionProviderConfig } {
  const { model: rewritten, rewrites, cpuNodes } = rewriteForWebGpu(decodeModel(model));
  return {
    bytes: rewrites.length ? encodeModel(rewritten) : model,
    provider: cpuNodes.length ? { name: 'webgpu', forceCpuNodeNames: cpuNodes } : 'webgpu',
  };
}

export function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 300);
}
