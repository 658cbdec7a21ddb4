// One error type for everything the core reports to a person. `code` lets the CLI pick an exit code and the editor
// pick a message style; `message` is always a full sentence that names the offending file, node or tensor.
export type FactErrorCode =
  | 'file-missing'
  | 'not-onnx'
  | 'unsupported-model'
  | 'onnxruntime-crash'
  | 'not-image-model'
  | 'bad-layer'
  | 'bad-image'
  | 'bad-idx'
  | 'bad-dataset'
  | 'bad-input'
  | 'bad-card'
  | 'bad-store'
  | 'bad-checkpoint'
  /** An SAE without current evaluation records (the atlas and C² need them): evaluate it first. */
  | 'not-evaluated'
  | 'disk-full'
  | 'locked'
  | 'file-system'
  | 'not-writable'
  | 'unsupported-platform'
  | 'cancelled'
  | 'internal';

export class FactError extends Error {
  constructor(
    readonly code: FactErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'FactError';
  }
}

export function isFactError(e: unknown): e is FactError {
  return e instanceof Error && e.name === 'FactError' && typeof (e as FactError).code === 'string';
}

/** Errors cross worker-thread boundaries as plain objects; this keeps their code and details. */
export interface SerializedError {
  name: string;
  code?: FactErrorCode;
  message: string;
  details?: Record<string, unknown>;
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (isFactError(e)) return { name: e.name, code: e.code, message: e.message, details: e.details };
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) };
  return { name: 'Error', message: String(e) };
}

export function deserializeError(s: SerializedError): Error {
  if (s.code) return new FactError(s.code, s.message, s.details ?? {});
  const e = new Error(s.message);
  e.name = s.name;
  if (s.stack) e.stack = s.stack;
  return e;
}

export function cancelledError(what = 'The job'): FactError {
  return new FactError('cancelled', `${what} was cancelled.`);
}

/** Throws the cancellation error when the signal has fired; call at every safe point of a long loop. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw cancelledError(what);
}
