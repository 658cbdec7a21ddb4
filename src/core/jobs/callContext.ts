// What a running core method gets besides its parameters: a cancellation signal and a progress reporter.
export interface CallContext {
  signal: AbortSignal;
  /** `data` carries structured progress (e.g. training metrics for live curves) beside the message. */
  progress: (message: string, fraction?: number, data?: ProgressData) => void;
}

/** Structured progress of the long jobs, for panels that draw it. */
export type ProgressData =
  | {
      kind: 'train';
      step: number;
      totalSteps: number;
      epoch: number;
      loss: number;
      fvu: number;
      l0: number;
      dead: number;
      lr: number;
      vectorsPerSecond: number;
      etaSeconds: number;
      validation?: number;
    }
  | { kind: 'collect'; imagesDone: number; images: number; vectors: number; imagesPerSecond: number; etaSeconds: number };
