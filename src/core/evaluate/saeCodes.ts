// What an SAE encoder returns for n vectors (see src/core/sae/saeEncoder.ts), as a function type the jobs take so
// tests can pass a naive reference encoder.
import type { SaeCodes } from '../sae/saeEncoder';

export type { SaeCodes };
export type SaeEncodeFn = (vectors: Float32Array, n: number) => Promise<SaeCodes>;
