// The main-thread side of the core worker: typed calls, progress, and cancellation. A cancelled call settles at once;
// if the worker is stuck inside a long onnxruntime run it is terminated and a fresh one is started on the next call.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { cancelledError, deserializeError, FactError } from '../errors';
import { explainNativeLoadError } from '../nativeRuntime';
import type { RanOn } from '../onnx/providerUsage';
import type { CoreOptions } from './services';
import type { ProgressData } from './callContext';
import type { CoreMethods, MethodName } from './methods';
import type { FromWorker, ToWorker } from './workerProtocol';

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (message: string, fraction?: number, data?: ProgressData) => void;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: CallOptions['onProgress'];
}

/** The worker's code: the bundled dist/worker.js, or (in tests) the TypeScript source, compiled on the fly by tsx. */
export interface WorkerScript {
  file: string;
  typescript?: boolean;
}

export function defaultWorkerScript(): WorkerScript {
  const bundled = path.join(__dirname, 'worker.js');
  if (existsSync(bundled)) return { file: bundled };
  return { file: path.join(__dirname, 'workerMain.ts'), typescript: true };
}

function startWorker(script: WorkerScript, workerData: unknown): Worker {
  if (!script.typescript) return new Worker(script.file, { workerData });
  // Loader flags are not reliably inherited by worker threads; register tsx's require hook inside the thread.
  const boot = `require('tsx/cjs'); require(${JSON.stringify(script.file)});`;
  return new Worker(boot, { eval: true, workerData });
}

/** Methods that save their work when cancelled, and how long they may take to stop before the worker is terminated. */
const savesWhenStopping: Partial<Record<MethodName, number>> = { train: 300_000 };

export class CoreWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Cancelled calls the worker has not yet answered. */
  private readonly cancelling = new Set<number>();

  constructor(
    private readonly options: CoreOptions = {},
    private readonly script: WorkerScript = defaultWorkerScript(),
    /** How long a cancelled call may take to stop before the worker is terminated. */
    private readonly cancelGraceMs = 2000,
  ) {}

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker(this.script, this.options);
    w.on('message', (m: FromWorker) => this.onMessage(m));
    // A worker that cannot load a native library (a build for another platform) says which platform and what to install.
    w.on('error', (e) => {
      const native = explainNativeLoadError(e);
      this.failAll(native ? new FactError('unsupported-platform', native) : e);
    });
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = undefined;
      if (code !== 0) this.failAll(new Error(`The FaCT worker thread stopped (exit code ${code}).`));
    });
    this.worker = w;
    return w;
  }

  private onMessage(m: FromWorker): void {
    if (m.type !== 'progress') this.cancelling.delete(m.id);
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') return p.onProgress?.(m.message, m.fraction, m.data);
    this.pending.delete(m.id);
    if (m.type === 'result') {
      const ran = m.value as RanOn | undefined;
      if (ran?.executionProvider) this.onRanOn?.(ran);
      p.resolve(m.value);
    } else p.reject(deserializeError(m.error));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Told where each call that ran a model actually ran (the status bar shows it). */
  onRanOn?: (ranOn: RanOn) => void;

  call<M extends MethodName>(method: M, params: CoreMethods[M]['params'], opts: CallOptions = {}): Promise<CoreMethods[M]['result']> {
    if (opts.signal?.aborted) return Promise.reject(cancelledError());
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<CoreMethods[M]['result']>((resolve, reject) => {
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      worker.postMessage({ type: 'call', id, method, params } satisfies ToWorker);
      opts.signal?.addEventListener('abort', () => this.cancel(id, worker, method), { once: true });
    });
  }

  private cancel(id: number, worker: Worker, method: MethodName): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.reject(cancelledError());
    this.cancelling.add(id);
    worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
    // A call that is inside onnxruntime cannot see the cancel message; stop the thread if it does not settle soon —
    // except a call that saves its work as it stops (training finishes its step and saves the state it resumes
    // from): killing it would lose that work, and on a loaded machine a step alone can take longer than the grace.
    const timer = setTimeout(() => {
      if (this.worker === worker && this.cancelling.has(id)) void this.dispose();
    }, savesWhenStopping[method] ?? this.cancelGraceMs);
    timer.unref();
  }

  async dispose(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.cancelling.clear();
    this.failAll(cancelledError('The FaCT worker'));
    if (w) await w.terminate();
  }
}
