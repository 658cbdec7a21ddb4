// Runs a model in a child process, so that a native crash of onnxruntime (a segmentation fault on a node it
// mishandles) becomes an error a person can read instead of the silent death of the CLI or of the editor's
// extension host (worker threads share the process, so only a child process survives a crash).
// The child gets the model as a temporary file and constant images, and answers with the tapped tensors' element
// types, shapes and (when small) values: what the normalisation needs to fold shape computations.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FactError } from '../errors';

export interface IsolatedTensor {
  /** onnxruntime's element type name ('float32', 'int64', 'bool', …). */
  type: string;
  dims: number[];
  /** The values, when the tensor has at most `maxValues` elements and a numeric type. */
  values?: number[];
}

export interface IsolatedRunRequest {
  model: Uint8Array;
  /** One entry per run: input name → dimensions (the input is filled with a constant), and the outputs to fetch. */
  runs: { inputs: Record<string, number[]>; outputs: string[] }[];
  /** Outputs whose values come back (when they have at most `maxValues` elements); the others return their shape. */
  valuesFor?: string[];
  maxValues?: number;
  /** Intra-op threads; 0 (the default) lets onnxruntime choose. */
  threads?: number;
}

export type IsolatedRunResult =
  | { ok: true; runs: Record<string, IsolatedTensor>[] }
  | { ok: false; crashed: true; signal: string }
  | { ok: false; crashed: false; message: string };

// The child's program: plain CommonJS, so it runs from the bundle and from the TypeScript sources alike. It serves
// one request at a time over the IPC channel and lives as long as its parent: starting Node and onnxruntime costs
// far more than a probe of a small model.
const CHILD = String.raw`
const fs = require('fs');
const ort = require(process.env.FACT_ORT_MODULE);
process.on('message', async (req) => {
  let session;
  try {
    session = await ort.InferenceSession.create(req.model, { graphOptimizationLevel: 'all', logSeverityLevel: 3, intraOpNumThreads: req.threads,
      extra: { session: { intra_op: { allow_spinning: '0' } } } });
    const runs = [];
    const valuesFor = new Set(req.valuesFor);
    for (const run of req.runs) {
      const feeds = {};
      for (const [name, dims] of Object.entries(run.inputs)) feeds[name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, d) => a * d, 1)).fill(0.5), dims);
      const r = await session.run(feeds, run.outputs);
      const out = {};
      for (const name of run.outputs) {
        const t = r[name];
        const values = valuesFor.has(name) && t.type !== 'string' && t.size <= req.maxValues ? Array.from(t.data, Number) : undefined;
        out[name] = { type: t.type, dims: t.dims.map(Number), values };
      }
      runs.push(out);
    }
    process.send({ id: req.id, result: { ok: true, runs } });
  } catch (e) {
    process.send({ id: req.id, result: { ok: false, crashed: false, message: String((e && e.message) || e) } });
  } finally {
    if (session) await session.release().catch(() => undefined);
  }
});
`;

function ortModulePath(): string {
  return require.resolve('onnxruntime-node');
}

interface Waiting {
  id: number;
  resolve: (r: IsolatedRunResult) => void;
  reject: (e: Error) => void;
}

/** The probe process of this process: started on first use, restarted after a crash, never keeping Node alive. */
class ProbeHost {
  private child: ChildProcess | undefined;
  private waiting: Waiting | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;

  /** Starts the child (Node and onnxruntime load) while the caller is still reading the model. */
  warm(): void {
    if (this.child) return;
    this.child = this.start();
    this.idle(this.child);
  }

  run(req: Omit<IsolatedRunRequest, 'model'> & { modelFile: string }): Promise<IsolatedRunResult> {
    const next = this.queue.then(() => this.runNow(req));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private start(): ChildProcess {
    const child = spawn(process.execPath, ['-e', CHILD], {
      env: { ...process.env, FACT_ORT_MODULE: ortModulePath(), ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    child.on('message', (m: { id: number; result: IsolatedRunResult }) => {
      const w = this.waiting;
      if (!w || w.id !== m.id) return;
      this.waiting = undefined;
      this.idle(child);
      w.resolve(m.result);
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const w = this.waiting;
      this.waiting = undefined;
      w?.resolve({ ok: false, crashed: true, signal: signal ?? `exit code ${code}` });
    });
    child.on('error', (e) => {
      if (this.child === child) this.child = undefined;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(e);
    });
    return child;
  }

  private idle(child: ChildProcess): void {
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  private runNow(req: Omit<IsolatedRunRequest, 'model'> & { modelFile: string }): Promise<IsolatedRunResult> {
    const child = (this.child ??= this.start());
    child.ref();
    (child.channel as { ref?: () => void } | undefined)?.ref?.();
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting = { id, resolve, reject };
      child.send({
        id,
        model: req.modelFile,
        runs: req.runs,
        valuesFor: req.valuesFor ?? [],
        maxValues: req.maxValues ?? 4096,
        threads: req.threads ?? 0,
      });
    });
  }
}

const host = new ProbeHost();

export function warmIsolatedRunner(): void {
  host.warm();
}

export async function runIsolated(req: IsolatedRunRequest): Promise<IsolatedRunResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fact-probe-'));
  try {
    const modelFile = path.join(dir, 'model.onnx');
    await fs.writeFile(modelFile, req.model);
    return await host.run({ ...req, modelFile });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The error a person sees when onnxruntime crashed on a model, naming the node when it was found. */
export function crashError(model: string, culprit: { name: string; opType: string } | undefined): FactError {
  const where = culprit ? ` (node ${culprit.name}, op ${culprit.opType})` : '';
  return new FactError('onnxruntime-crash', `onnxruntime crashed while loading ${model}${where}.`, {
    file: model,
    ...(culprit ? { node: culprit.name, op: culprit.opType } : {}),
  });
}
