// Presence traces of several concepts on one image: features at the SAE's layer, the SAE's codes, one presence
// cotangent per concept, all back-propagated to the input in one fan-out run. Also each trace's per-pixel
// contribution map Σ_c x_c·trace_c. The map sums to the concept's presence only when no constant joins the path
// between the input and the layer; otherwise map total + bias = presence, the bias being what those constants (a
// ViT's positional embedding) contribute in explanation mode.
import type { Explainer } from '../engine/explainer';
import type { LayerLayout } from '../evaluate/layerLayout';
import { toVectors } from '../evaluate/layerLayout';
import type { SaeCodesFn } from '../evaluate/saeCodes';
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

export async function presenceTraces(
  ctx: ModelContext,
  runner: ModelRunner,
  explainer: Explainer,
  tensor: string,
  layout: LayerLayout,
  sae: CotangentSae,
  encode: SaeCodesFn,
  x: Float32Array,
  concepts: number[],
): Promise<PresenceTraces> {
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

/** Presence traces for many images at once: one forward and one encoding for all of them, then every (image,
 *  concept) pair as one cotangent row of a single trace run that names its image, so each image's forward pass
 *  (its frozen factors) is computed once for all its concepts. The same result as presenceTraces per image. */
export async function presenceTracesOfImages(
  ctx: ModelContext,
  runner: ModelRunner,
  explainer: Explainer,
  tensor: string,
  layout: LayerLayout,
  sae: CotangentSae,
  encode: SaeCodesFn,
  images: { x: Float32Array; concepts: number[] }[],
): Promise<PresenceTraces[]> {
  const n = images.length;
  const size = images[0]!.x.length;
  const xs = new Float32Array(n * size);
  images.forEach((im, i) => xs.set(im.x, i * size));
  const feats = await runner.run(ctx, xs, n, [tensor]);
  const codes = await encode(toVectors(feats.outputs[tensor]!.data, n, layout), n * layout.locations);
  const per = layout.dim * layout.locations;
  const pairs = images.reduce((a, im) => a + im.concepts.length, 0);
  const rowImage = new Int32Array(pairs);
  const cots = new Float32Array(pairs * per);
  let row = 0;
  images.forEach((im, i) => {
    const span = layout.locations * codes.k;
    const own = {
      ...codes,
      n: layout.locations,
      indices: codes.indices.subarray(i * span, (i + 1) * span),
      values: codes.values.subarray(i * span, (i + 1) * span),
    };
    for (const c of im.concepts) {
      rowImage[row] = i;
      cots.set(conceptCotangent(own, layout, sae, new Set([c]), 'presence'), row * per);
      row++;
    }
  });
  const t = await explainer.traceImagesFromLayer(xs, n, tensor, cots, rowImage);
  const plane = ctx.preprocess.centerCrop ** 2;
  const one = t.input.data.length / n;
  const channels = one / plane;
  const out: PresenceTraces[] = [];
  row = 0;
  images.forEach((im, i) => {
    const input = t.input.data.slice(i * one, (i + 1) * one);
    const traces = im.concepts.map((_, j) => t.traces.data.subarray((row + j) * one, (row + j + 1) * one));
    const maps = traces.map((w) => {
      const map = new Float64Array(plane);
      for (let ch = 0; ch < channels; ch++) for (let p = 0; p < plane; p++) map[p]! += input[ch * plane + p]! * w[ch * plane + p]!;
      return map;
    });
    out.push({ input, traces, maps, bias: t.bias.slice(row, row + im.concepts.length) });
    row += im.concepts.length;
  });
  return out;
}
