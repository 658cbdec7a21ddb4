// Presence traces of several concepts on one image: features at the SAE's layer, the SAE's codes, one presence
// cotangent per concept, all back-propagated to the input in one fan-out run. Also each trace's per-pixel
// contribution map Σ_c x_c·trace_c. The map sums to the concept's presence only when no constant joins the path
// between the input and the layer; otherwise map total + bias = presence, the bias being what those constants (a
// ViT's positional embedding) contribute in explanation mode.
import type { Explainer } from '../engine/explainer';
import type { LayerLayout } from '../evaluate/layerLayout';
import { toVectors } from '../evaluate/layerLayout';
import type { SaeEncodeFn } from '../evaluate/saeCodes';
import type { ModelContext } from '../model/modelContext';
import type { ModelRunner } from '../model/modelRunner';
import { conceptCotangent, type CotangentSae } from './conceptCotangents';

export interface PresenceTraces {
  /** The explained (encoded) input, channels × H × W. */
  input: Float32Array;
  /** One trace per concept, each channels × H × W, in the order asked. */
  traces: Float32Array[];
  /** One H × W contribution map per concept. */
  maps: Float64Array[];
  /** Per concept, the part of its presence that comes from constants on the path (zero when none joins). */
  bias: Float32Array;
}

export async function presenceTraces(ctx: ModelContext, runner: ModelRunner, explainer: Explainer, tensor: string, layout: LayerLayout, sae: CotangentSae, encode: SaeEncodeFn, x: Float32Array, concepts: number[]): Promise<PresenceTraces> {
  const feats = await runner.run(ctx, x, 1, [tensor]);
  const codes = await encode(toVectors(feats.outputs[tensor]!.data, 1, layout), layout.locations);
  const per = layout.dim * layout.locations;
  const cots = new Float32Array(concepts.length * per);
  concepts.forEach((c, i) => cots.set(conceptCotangent(codes, layout, sae, new Set([c]), 'presence'), i * per));
  const t = await explainer.traceFromLayer(x, tensor, cots, concepts.length);
  const input = t.input.data;
  const plane = ctx.preprocess.centerCrop ** 2;
  const channels = input.length / plane;
  const traces = concepts.map((_, i) => t.traces.data.subarray(i * channels * plane, (i + 1) * channels * plane));
  const maps = traces.map((w) => {
    const map = new Float64Array(plane);
    for (let ch = 0; ch < channels; ch++) for (let p = 0; p < plane; p++) map[p]! += input[ch * plane + p]! * w[ch * plane + p]!;
    return map;
  });
  return { input, traces, maps, bias: t.bias };
}
