// What a running core method gets besides its parameters: a cancellation signal and a progress reporter.
export interface CallContext {
  signal: AbortSignal;
  progress: (message: string, fraction?: number) => void;
}
