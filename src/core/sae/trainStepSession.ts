// Runs the training-step graph: one onnxruntime session, state in, state and metrics out.
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../onnx/modelFile';
import { openSession, type ExecutionProvider, type RequestedProvider, type RunnableSession } from '../onnx/session';
import { buildTrainStepGraph, stepInputs as I, stepOutputs as O, type StepState, type TrainStepGraphOptions } from './trainStepGraph';

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

export class TrainStepSession {
  private constructor(
    readonly options: TrainStepGraphOptions,
    private readonly session: RunnableSession,
    readonly executionProvider: ExecutionProvider,
    readonly fallbackReason: string | undefined,
  ) {}

  static async open(options: TrainStepGraphOptions, session: { executionProvider?: RequestedProvider; threads?: number } = {}): Promise<TrainStepSession> {
    const opened = await openSession(encodeModel(buildTrainStepGraph(options)), session);
    return new TrainStepSession(options, opened.session, opened.executionProvider, opened.fallbackReason);
  }

  async run<A extends FloatArray>(input: StepRunInput<A>): Promise<StepRunResult<A>> {
    const o = this.options;
    const dt = o.dtype ?? 'float32';
    const { dModel: d, dictSize: K } = o;
    const s = input.state;
    const t = (data: FloatArray, dims: number[]) => new ort.Tensor(dt, data, dims);
    const scalar = (v: number) => t(dt === 'float32' ? Float32Array.of(v) : Float64Array.of(v), []);
    const feeds: Record<string, ort.Tensor> = {
      [I.x]: t(input.x, [input.batch, d]),
      [I.wEnc]: t(s.wEnc, [K, d]), [I.wDec]: t(s.wDec, [d, K]),
      [I.mEnc]: t(s.mEnc, [K, d]), [I.vEnc]: t(s.vEnc, [K, d]),
      [I.mDec]: t(s.mDec, [d, K]), [I.vDec]: t(s.vDec, [d, K]),
      [I.step]: new ort.Tensor('int64', BigInt64Array.of(BigInt(s.step)), []),
      [I.lr]: scalar(input.lr),
    };
    if (o.auxK) {
      if (!input.deadCandidates) throw new Error('This training-step graph has AuxK and needs deadCandidates.');
      feeds[I.deadCandidates] = new ort.Tensor('bool', input.deadCandidates, [K]);
      if (o.residualInput) {
        if (!input.residual) throw new Error('This training-step graph takes the AuxK residual as an input.');
        feeds[I.residual] = t(input.residual, [input.batch, d]);
      }
    }
    const out = await this.session.run(feeds);
    const arr = (name: string) => out[name]!.data as A;
    const num = (name: string) => Number((out[name]!.data as FloatArray)[0]);
    return {
      state: { wEnc: arr(O.wEnc), wDec: arr(O.wDec), mEnc: arr(O.mEnc), vEnc: arr(O.vEnc), mDec: arr(O.mDec), vDec: arr(O.vDec), step: s.step + 1 },
      loss: num(O.loss), mse: num(O.mse), auxLoss: num(O.auxLoss),
      sumSq: num(O.sumSq), sumSqCentered: num(O.sumSqCentered), sumSqErr: num(O.sumSqErr), sumSqErrCentered: num(O.sumSqErrCentered),
      fireCounts: arr(O.fireCounts),
      ...(o.gradientOutputs ? { gradEnc: arr(O.gradEnc), gradDec: arr(O.gradDec) } : {}),
    };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
