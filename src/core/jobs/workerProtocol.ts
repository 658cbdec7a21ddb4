// Messages between a CoreWorker (main thread) and workerMain (worker thread).
import type { SerializedError } from '../errors';
import type { ProgressData } from './callContext';
import type { CoreMethods, MethodName } from './methods';

export type ToWorker =
  { type: 'call'; id: number; method: MethodName; params: CoreMethods[MethodName]['params'] } | { type: 'cancel'; id: number };

export type FromWorker =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'progress'; id: number; message: string; fraction?: number; data?: ProgressData };
