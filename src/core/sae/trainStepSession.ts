// Runs the training step's three graphs (trainStepGraph.ts) in three onnxruntime sessions: state in, state and
// metrics out. The accumulation session always has one intra-op thread; the others the thread count asked for.
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../onnx/modelFile';
import { openSession, type ExecutionProvider, type RequestedProvider, type RunnableSession } from '../onnx/session';
import {
  buildTrainStepGraphs,
  stepInputs as I,
  stepLinks as L,
  stepOutputs as O,
  type StepState,
  type TrainStepGraphOptions,
} from './trainStepGraph';

type FloatArray = Float32Array | Float64Array;

export interface StepRunInput<A extends FloatArray> {
  /** [batch, d] */
  x: A;
  batch: number;
  state: StepState<A>;
  lr: number;
  /** [K], 1 = has not fired for long enough to be dead; required when the graph has AuxK. */
  deadCandidates?: Uint8Array;
  /** Only for graphs built with residualInput. */
  residual?: A;
}

export interface StepMetrics<A extends FloatArray = FloatArray> {
  loss: number;
  mse: number;
  auxLoss: number;
  sumSq: number;
  sumSqCentered: number;
  sumSqErr: number;
  sumSqErrCentered: number;
  /** [K] vectors of the batch in which each latent fired. */
  fireCounts: A;
}

export interface StepRunResult<A extends FloatArray> extends StepMetrics<A> {
  state: StepState<A>;
  gradEnc?: A;
  gradDec?: A;
}

/** The accumulation graph's session: one intra-op thread on the CPU, whatever the job asked for. Its ScatterND adds
 *  in index order there; on more threads onnxruntime 1.30 splits the additions over threads without locking and
 *  loses some, and CUDA's scatter adds with atomics in no fixed order. Cheap: it is O(B·k·d), not O(B·K·d). */
export const accumulationSessionOptions = { executionProvider: 'cpu', threads: 1 } as const;

export class TrainStepSession {
  private constructor(
    readonly options: TrainStepGraphOptions,
    private readonly coefficients: RunnableSession,
    private readonly accumulate: RunnableSession,
    private readonly update: RunnableSession,
    readonly executionProvider: ExecutionProvider,
    readonly fallbackReason: string | undefined,
  ) {}

  static async open(
    options: TrainStepGraphOptions,
    session: { executionProvider?: RequestedProvider; threads?: number } = {},
  ): Promise<TrainStepSession> {
    const graphs = buildTrainStepGraphs(options);
    const coefficients = await openSession(encodeModel(graphs.coefficients), session);
    const accumulate = await openSession(encodeModel(graphs.accumulate), accumulationSessionOptions);
    const update = await openSession(encodeModel(graphs.update), session);
    return new TrainStepSession(
      options,
      coefficients.session,
      accumulate.session,
      update.session,
      coefficients.executionProvider,
      coefficients.fallbackReason,
    );
  }

  async run<A extends FloatArray>(input: StepRunInput<A>): Promise<StepRunResult<A>> {
    const o = this.options;
    const dt = o.dtype ?? 'float32';
    const { dModel: d, dictSize: K } = o;
    const s = input.state;
    const t = (data: FloatArray, dims: number[]) => new ort.Tensor(dt, data, dims);
    const scalar = (v: number) => t(dt === 'float32' ? Float32Array.of(v) : Float64Array.of(v), []);
    const x = t(input.x, [input.batch, d]);
    const wEnc = t(s.wEnc, [K, d]);
    const wDec = t(s.wDec, [d, K]);
    const feeds: Record<string, ort.Tensor> = { [I.x]: x, [I.wEnc]: wEnc, [I.wDec]: wDec };
    if (o.auxK) {
      if (!input.deadCandidates) throw new Error('This training-step graph has AuxK and needs deadCandidates.');
      feeds[I.deadCandidates] = new ort.Tensor('bool', input.deadCandidates, [K]);
      if (o.residualInput) {
        if (!input.residual) throw new Error('This training-step graph takes the AuxK residual as an input.');
        feeds[I.residual] = t(input.residual, [input.batch, d]);
      }
    }
    const coef = await this.coefficients.run(feeds);
    const links = [L.idx, L.u, L.du, L.dXHat, ...(o.auxK ? [L.auxIdx, L.auxU, L.dAuxU, L.dAux] : [])];
    const sums = await this.accumulate.run({ [I.x]: x, ...Object.fromEntries(links.map((n) => [n, coef[n]!])) });
    const out = await this.update.run({
      [I.wEnc]: wEnc,
      [I.wDec]: wDec,
      [I.mEnc]: t(s.mEnc, [K, d]),
      [I.vEnc]: t(s.vEnc, [K, d]),
      [I.mDec]: t(s.mDec, [d, K]),
      [I.vDec]: t(s.vDec, [d, K]),
      [I.step]: new ort.Tensor('int64', BigInt64Array.of(BigInt(s.step)), []),
      [I.lr]: scalar(input.lr),
      [L.gradEnc]: sums[L.gradEnc]!,
      [L.gradDecRows]: sums[L.gradDecRows]!,
    });
    const arr = (r: ort.InferenceSession.OnnxValueMapType, name: string) => r[name]!.data as A;
    const num = (name: string) => Number((coef[name]!.data as FloatArray)[0]);
    return {
      state: {
        wEnc: arr(out, O.wEnc),
        wDec: arr(out, O.wDec),
        mEnc: arr(out, O.mEnc),
        vEnc: arr(out, O.vEnc),
        mDec: arr(out, O.mDec),
        vDec: arr(out, O.vDec),
        step: s.step + 1,
      },
      loss: num(O.loss),
      mse: num(O.mse),
      auxLoss: num(O.auxLoss),
      sumSq: num(O.sumSq),
      sumSqCentered: num(O.sumSqCentered),
      sumSqErr: num(O.sumSqErr),
      sumSqErrCentered: num(O.sumSqErrCentered),
      fireCounts: arr(sums, O.fireCounts),
      ...(o.gradientOutputs ? { gradEnc: arr(sums, L.gradEnc), gradDec: arr(out, O.gradDec) } : {}),
    };
  }

  async dispose(): Promise<void> {
    await this.coefficients.release();
    await this.accumulate.release();
    await this.update.release();
  }
}
