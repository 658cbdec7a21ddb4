// What an SAE encoder returns for n vectors (see src/core/sae/saeEncoder.ts), as a function type the jobs take so
// tests can pass a naive reference encoder.
import type { SaeCodes, SaeCodesOnly } from '../sae/saeEncoder';

export type { SaeCodes, SaeCodesOnly };
export type SaeEncodeFn = (vectors: Float32Array, n: number) => Promise<SaeCodes>;
/** An encoder of the codes alone (an SaeEncodeFn is one too). */
export type SaeCodesFn = (vectors: Float32Array, n: number) => Promise<SaeCodesOnly>;
