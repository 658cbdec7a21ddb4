// The explanation engine's API: exact B-cos explanations of an ONNX model, with onnxruntime doing the work.
//   explain        logits, W(x) for any class, the contribution map Σ_c x_c·W_c, the bias and the completeness error
//   layerGradients the gradient of a logit with respect to the features at layer L (and the features)
//   traceFromLayer the input-level trace of cotangents given at layer L (concept traces), many per image
//   runHead        the part after layer L, run on features we supply, with its gradient at L
import * as ort from 'onnxruntime-node';
import { FactError } from '../errors';
import type { ModelContext } from '../model/modelContext';
import { constantLookup, type ConstantValue } from '../onnx/constants';
import { encodeModel } from '../onnx/modelFile';
import { baseOptions, openedOnCpu, openSession, runsOnCpu, type OpenedSession, type SessionOptions } from '../onnx/session';
import { encodeCutAtTensors } from '../onnx/cutGraph';
import { encodeWithExtraOutputs } from '../onnx/surgery';
import { runInFixedBatches } from '../model/fixedBatch';
import type { OnnxNode } from '../onnx/types';
import { findExplainedInput, type ExplainedInput } from './explainedInput';
import { cacheKey, GraphCache, type CachedGraphMeta } from './graphCache';
import {
  BIAS,
  COTANGENT,
  COTANGENT_IMAGE,
  buildExplanationGraph,
  gradientName,
  type ExplanationGraphSpec,
  type GraphContext,
} from './explanationGraph';
import { describeNode, linearize, type Linearization } from './linearize';
import { linearPath } from './transpose';

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** A feed of row indices (which image each cotangent row is for). */
interface IndexFeed {
  data: BigInt64Array;
  dims: number[];
}

export interface Explanation {
  logits: Float32Array;
  classIndex: number;
  logit: number;
  /** ∂logit/∂x in explanation mode, over the explained (encoded) input: channels × H × W. */
  weights: Float32Array;
  /** The explained input x itself (encoded), channels × H × W. */
  input: Float32Array;
  /** Σ_c x_c·W_c per pixel, H × W. */
  contributionMap: Float32Array;
  contributionSum: number;
  bias: number;
  /** |Σ x·W + bias − logit|. */
  completenessError: number;
}

export interface EngineReport {
  explainedInput: ExplainedInput;
  output: string;
  pathLength: number;
  frozenFactors: number;
  biasNodes: string[];
}

function product(dims: number[]): number {
  return dims.reduce((a, d) => a * d, 1);
}

export class Explainer {
  /** Sessions by graph spec. */
  private readonly sessions = new Map<string, Promise<{ graph: CachedGraphMeta; opened: OpenedSession }>>();
  /** Plain forward sessions of the model with layers tapped, by layer list. */
  private readonly forwards = new Map<string, Promise<OpenedSession>>();

  private constructor(
    readonly ctx: ModelContext,
    readonly explained: ExplainedInput,
    private readonly gc: GraphContext,
    private readonly options: SessionOptions,
  ) {}

  /** Analyses the model (linearize, check the output is linear, probe shapes once). */
  static async create(ctx: ModelContext, options: SessionOptions = {}): Promise<Explainer> {
    const g = ctx.loaded.graph;
    const constant = constantLookup(g);
    const explained = findExplainedInput(ctx, constant);
    const lin = linearize(ctx.index.order, explained.tensor, constant);
    checkOutputIsLinear(ctx, lin, explained.tensor);
    checkFoldedParameters(ctx, linearPath(ctx.index.order, lin, explained.tensor, ctx.logitsOutput), lin);
    const shapes = await cachedShapes(ctx, options, () => probeShapes(ctx, lin, explained.tensor, options));
    const shape = (t: string) => {
      const s = shapes.get(t);
      if (!s) throw new FactError('internal', `No shape is known for tensor '${t}'.`);
      return s;
    };
    return new Explainer(ctx, explained, { model: ctx.loaded.model, index: ctx.index, lin, shape, constant }, options);
  }

  get linearization(): Linearization {
    return this.gc.lin;
  }

  shapeOf(tensor: string): number[] {
    return this.gc.shape(tensor);
  }

  private graph(spec: ExplanationGraphSpec): Promise<{ graph: CachedGraphMeta; opened: OpenedSession }> {
    const key = JSON.stringify(spec);
    let hit = this.sessions.get(key);
    if (!hit) {
      hit = (async () => {
        const cache = await graphCacheFor(this.options);
        const entry = cache && graphKey(this.ctx, 'graph', spec);
        if (cache && entry) {
          const cached = await cache.store.openGraph(entry, cpuOptions(this.options));
          if (cached) return { graph: cached.meta, opened: openedOnCpu(cached.session, cache.note) };
        }
        const graph = buildExplanationGraph(this.gc, spec);
        const meta: CachedGraphMeta = {
          outputs: graph.model.graph!.output.map((o) => o.name),
          frozen: graph.frozen,
          pathLength: graph.pathLength,
          biasNodes: graph.biasNodes,
        };
        if (cache && entry) {
          const session = await cache.store.createAndStore(entry, encodeModel(graph.model), cpuOptions(this.options), meta);
          return { graph: meta, opened: openedOnCpu(session, cache.note) };
        }
        return { graph: meta, opened: await openSession(encodeModel(graph.model), this.options) };
      })();
      hit.catch(() => this.sessions.delete(key));
      this.sessions.set(key, hit);
    }
    return hit;
  }

  private fullSpec(layers: string[] = []): ExplanationGraphSpec {
    return {
      from: this.explained.tensor,
      to: this.ctx.logitsOutput,
      fromIsInput: false,
      gradientsAt: layers,
      forwardOutputs: this.explained.inGraph ? [this.explained.tensor, ...layers] : layers,
    };
  }

  async report(): Promise<EngineReport> {
    const { graph } = await this.graph(this.fullSpec());
    return {
      explainedInput: this.explained,
      output: this.ctx.logitsOutput,
      pathLength: graph.pathLength,
      frozenFactors: graph.frozen.length,
      biasNodes: graph.biasNodes,
    };
  }

  private imageDims(n: number): number[] {
    const { channels, height, width } = this.ctx.imageInput;
    const side = this.ctx.preprocess.centerCrop;
    return [n, channels, height ?? side, width ?? side];
  }

  private checkBatch(batch: Float32Array, n: number): number[] {
    const dims = this.imageDims(n);
    if (batch.length !== product(dims)) {
      throw new FactError(
        'bad-input',
        `The image batch has ${batch.length} values; '${this.ctx.file}' takes ${dims.join('×')} = ${product(dims)} (an image of the wrong size or channel count?).`,
        { file: this.ctx.file },
      );
    }
    return dims;
  }

  private numClasses(): number {
    return this.gc.shape(this.ctx.logitsOutput)[1]!;
  }

  private oneHot(classes: number[]): Float32Array {
    const k = this.numClasses();
    const cot = new Float32Array(classes.length * k);
    classes.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= k)
        throw new FactError('bad-input', `Class index ${c} is out of range: '${this.ctx.file}' has ${k} classes (0–${k - 1}).`, {
          file: this.ctx.file,
        });
      cot[i * k + c] = 1;
    });
    return cot;
  }

  private async run(spec: ExplanationGraphSpec, feeds: Record<string, Tensor>, rowImages?: IndexFeed): Promise<Record<string, Tensor>> {
    const { graph, opened } = await this.graph(spec);
    const outputs = graph.outputs;
    const runOnce = async (f: Record<string, Tensor>) => {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(f)) ortFeeds[k] = new ort.Tensor('float32', v.data, v.dims);
      if (rowImages) ortFeeds[COTANGENT_IMAGE] = new ort.Tensor('int64', rowImages.data, rowImages.dims);
      const r = await opened.session.run(ortFeeds, outputs);
      const out: Record<string, Tensor> = {};
      for (const name of outputs) out[name] = { data: r[name]!.data as Float32Array, dims: r[name]!.dims.map(Number) };
      return out;
    };
    // A fixed-batch model runs in batches of its own size; a cotangent with one row per image is cut with them.
    const batchFeed = spec.fromIsInput ? spec.from : this.ctx.imageInput.name;
    const n = feeds[batchFeed]!.dims[0]!;
    const fixed = this.ctx.fixedBatch;
    if (!fixed || n === fixed) return runOnce(feeds);
    if (rowImages) throw new FactError('internal', 'Cotangents naming their images need a model without a fixed batch.');
    const cot = feeds[COTANGENT];
    if (!cot || cot.dims[0] === n) return runInFixedBatches(fixed, feeds, cot ? [batchFeed, COTANGENT] : [batchFeed], runOnce);
    if (n !== 1) throw new FactError('internal', `${cot.dims[0]} cotangents for ${n} images.`);
    // One image, many cotangents (traces): each run takes the image `fixed` times, one cotangent row per copy; the
    // forward outputs are the image's own (its first row), the gradients and bias terms one row per cotangent.
    const image = feeds[batchFeed]!;
    const m = cot.dims[0]!;
    const copies = new Float32Array(m * image.data.length);
    for (let r = 0; r < m; r++) copies.set(image.data, r * image.data.length);
    const out = await runInFixedBatches(
      fixed,
      { ...feeds, [batchFeed]: { data: copies, dims: [m, ...image.dims.slice(1)] } },
      [batchFeed, COTANGENT],
      runOnce,
    );
    for (const [name, t] of Object.entries(out)) {
      if (name === BIAS || name.startsWith(gradientName(''))) continue;
      const per = product(t.dims.slice(1));
      out[name] = { data: t.data.slice(0, per), dims: [1, ...t.dims.slice(1)] };
    }
    return out;
  }

  /** Explains each image of a batch for one class each (the predicted class where `classes[i]` is undefined). */
  async explain(batch: Float32Array, n: number, classes?: (number | undefined)[]): Promise<Explanation[]> {
    const dims = this.checkBatch(batch, n);
    const k = this.numClasses();
    const allGiven = classes !== undefined && classes.length === n && classes.every((c) => c !== undefined);
    const noneGiven = !classes || classes.every((c) => c === undefined);
    // The usual case (the predicted class) needs a single run: the graph picks the argmax itself.
    const predicted = allGiven ? (classes as number[]) : noneGiven ? undefined : await this.predicted(batch, n, classes);
    const out = predicted
      ? await this.run(this.fullSpec(), {
          [this.ctx.imageInput.name]: { data: batch, dims },
          [COTANGENT]: { data: this.oneHot(predicted), dims: [n, k] },
        })
      : await this.run({ ...this.fullSpec(), predictedClass: true }, { [this.ctx.imageInput.name]: { data: batch, dims } });
    const chosen = predicted ?? argmaxRows(out[this.ctx.logitsOutput]!.data, n, k);
    const x = this.explained.inGraph ? out[this.explained.tensor]!.data : batch;
    const w = out[gradientName(this.explained.tensor)]!;
    const per = product(w.dims.slice(1));
    const [c, h, wd] = w.dims.slice(1) as [number, number, number];
    const logits = out[this.ctx.logitsOutput]!.data;
    return chosen.map((cls, i) => {
      const weights = w.data.slice(i * per, (i + 1) * per);
      const input = x.slice(i * per, (i + 1) * per);
      const map = new Float32Array(h * wd);
      let sum = 0;
      for (let ch = 0; ch < c; ch++) {
        for (let p = 0; p < h * wd; p++) {
          const v = input[ch * h * wd + p]! * weights[ch * h * wd + p]!;
          map[p]! += v;
          sum += v;
        }
      }
      const logit = logits[i * k + cls]!;
      const bias = out[BIAS]!.data[i]!;
      return {
        logits: logits.slice(i * k, (i + 1) * k),
        classIndex: cls,
        logit,
        weights,
        input,
        contributionMap: map,
        contributionSum: sum,
        bias,
        completenessError: Math.abs(sum + bias - logit),
      };
    });
  }

  /** Mixed requests (some classes given, some predicted): predict first, then explain what was asked. */
  /**
   * Makes the first explanations fast before anyone asks: opens (or builds and caches) the session of the predicted
   * class's explanation, then the one for a chosen class, and runs each twice on a mid-grey image so that
   * onnxruntime's first-run costs are paid too: the first run allocates as it goes and records a memory plan, the
   * second allocates that plan (for a ResNet-50 each costs ~0.45 s of CPU against ~0.16 s for a later run). For the
   * editor's warm-up; the plan is per input shape, and the editor explains one image at a time, as here.
   */
  async prepare(): Promise<void> {
    const n = this.ctx.fixedBatch ?? 1;
    const grey = new Float32Array(product(this.imageDims(n))).fill(0.5);
    for (const classes of [undefined, new Array<number>(n).fill(0)]) for (let run = 0; run < 2; run++) await this.explain(grey, n, classes);
  }

  private async predicted(batch: Float32Array, n: number, classes?: (number | undefined)[]): Promise<number[]> {
    const out = await this.run(
      { ...this.fullSpec(), predictedClass: true },
      { [this.ctx.imageInput.name]: { data: batch, dims: this.imageDims(n) } },
    );
    const best = argmaxRows(out[this.ctx.logitsOutput]!.data, n, this.numClasses());
    return best.map((b, i) => classes?.[i] ?? b);
  }

  /**
   * The explanation-mode gradient at the input of any linear combinations of the logits of ONE image: M cotangent
   * rows of length K (one-hot rows give W(x) per class; e_a − e_b explains "why a rather than b").
   */
  async inputGradient(
    image: Float32Array,
    cotangents: Float32Array,
    m: number,
  ): Promise<{ logits: Tensor; input: Tensor; gradient: Tensor; bias: Float32Array }> {
    const dims = this.checkBatch(image, 1);
    const k = this.numClasses();
    if (cotangents.length !== m * k) throw new FactError('bad-input', `Expected ${m} cotangent rows of ${k} logits.`);
    const out = await this.run(this.fullSpec(), {
      [this.ctx.imageInput.name]: { data: image, dims },
      [COTANGENT]: { data: cotangents, dims: [m, k] },
    });
    const input = this.explained.inGraph ? out[this.explained.tensor]! : { data: image, dims };
    return { logits: out[this.ctx.logitsOutput]!, input, gradient: out[gradientName(this.explained.tensor)]!, bias: out[BIAS]!.data };
  }

  /** The gradient of each image's class logit with respect to the features at the given layer tensors. */
  async layerGradients(
    batch: Float32Array,
    n: number,
    classes: number[] | 'predicted',
    layers: string[],
  ): Promise<{ logits: Tensor; features: Record<string, Tensor>; gradients: Record<string, Tensor> }> {
    const dims = this.checkBatch(batch, n);
    const image = { [this.ctx.imageInput.name]: { data: batch, dims } };
    // With one layer the transposed pass can stop there instead of running on to the input.
    const spec: ExplanationGraphSpec =
      layers.length === 1
        ? { from: layers[0]!, to: this.ctx.logitsOutput, fromIsInput: false, gradientsAt: [], forwardOutputs: layers }
        : this.fullSpec(layers);
    const out =
      classes === 'predicted'
        ? await this.run({ ...spec, predictedClass: true }, image)
        : await this.run(spec, { ...image, [COTANGENT]: { data: this.oneHot(classes), dims: [n, this.numClasses()] } });
    const features: Record<string, Tensor> = {};
    const gradients: Record<string, Tensor> = {};
    for (const l of layers) {
      features[l] = out[l]!;
      gradients[l] = out[gradientName(l)]!;
    }
    return { logits: out[this.ctx.logitsOutput]!, features, gradients };
  }

  /** The features at the given layer tensors, from the model's own forward pass up to them (no explanation graph, no
   *  backward, nothing after the layers): for callers that need the features alone. */
  async layerFeatures(batch: Float32Array, n: number, layers: string[]): Promise<Record<string, Tensor>> {
    const dims = this.checkBatch(batch, n);
    const taps = [...new Set(layers)].sort();
    const key = taps.join('\n');
    let opened = this.forwards.get(key);
    if (!opened) {
      // The model cut after the layers: nothing after them runs (a model with subgraphs runs whole, the layers tapped).
      opened = openSession(
        encodeCutAtTensors(this.ctx.loaded.model, taps) ?? encodeWithExtraOutputs(this.ctx.loaded.model, taps),
        this.options,
      );
      opened.catch(() => this.forwards.delete(key));
      this.forwards.set(key, opened);
    }
    const session = (await opened).session;
    const name = this.ctx.imageInput.name;
    return runInFixedBatches(this.ctx.fixedBatch, { [name]: { data: batch, dims } }, [name], async (f) => {
      const r = await session.run({ [name]: new ort.Tensor('float32', f[name]!.data, f[name]!.dims) }, taps);
      const out: Record<string, Tensor> = {};
      for (const t of taps) out[t] = { data: r[t]!.data as Float32Array, dims: r[t]!.dims.map(Number) };
      return out;
    });
  }

  /**
   * Input-level traces: M cotangents at layer `layer` for ONE image, each back-propagated to the explained input
   * in explanation mode (the frozen factors are those of this image). Returns the features at the layer too.
   */
  async traceFromLayer(
    image: Float32Array,
    layer: string,
    cotangents: Float32Array,
    m: number,
  ): Promise<{ features: Tensor; input: Tensor; traces: Tensor; bias: Float32Array }> {
    const { out, ...traced } = await this.traceRun(image, 1, layer, cotangents, m);
    return { features: out[layer]!, ...traced };
  }

  /** Like traceFromLayer, for n images with one cotangent each (the same image may repeat): the input-level trace
   *  of cotangent i on image i. Batches many (image, cotangent) pairs into one run. */
  async traceEachFromLayer(
    images: Float32Array,
    n: number,
    layer: string,
    cotangents: Float32Array,
  ): Promise<{ input: Tensor; traces: Tensor; bias: Float32Array }> {
    const { out: _out, ...traced } = await this.traceRun(images, n, layer, cotangents, n);
    return traced;
  }

  /**
   * Input-level traces of cotangents at `layer` for several images, each cotangent row for the image `rowImage[r]`
   * names: one forward pass per image however many cotangents it has (each trace equals traceFromLayer's for that
   * image and cotangent). Returns the n explained inputs and the m traces and bias terms, in row order.
   */
  async traceImagesFromLayer(
    images: Float32Array,
    n: number,
    layer: string,
    cotangents: Float32Array,
    rowImage: ArrayLike<number>,
  ): Promise<{ input: Tensor; traces: Tensor; bias: Float32Array }> {
    const m = rowImage.length;
    const firstRow = new Array<number>(n).fill(-1);
    for (let r = 0; r < m; r++) {
      const i = rowImage[r]!;
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new FactError('internal', `Cotangent row ${r} names image ${i} of ${n}.`);
      if (firstRow[i]! < 0) firstRow[i] = r;
    }
    if (firstRow.includes(-1)) throw new FactError('internal', `Image ${firstRow.indexOf(-1)} of ${n} has no cotangent row.`);
    if (this.ctx.fixedBatch) {
      // A fixed-batch model cannot take n images beside m cotangents: pair a copy of the image with each row.
      const size = images.length / n;
      const pairs = new Float32Array(m * size);
      for (let r = 0; r < m; r++) pairs.set(images.subarray(rowImage[r]! * size, (rowImage[r]! + 1) * size), r * size);
      const { out: _out, input, ...traced } = await this.traceRun(pairs, m, layer, cotangents, m);
      const per = input.data.length / m;
      const own = new Float32Array(n * per);
      firstRow.forEach((r, i) => own.set(input.data.subarray(r * per, (r + 1) * per), i * per));
      return { input: { data: own, dims: [n, ...input.dims.slice(1)] }, ...traced };
    }
    const rows: IndexFeed = { data: BigInt64Array.from(Array.from(rowImage, (i) => BigInt(i))), dims: [m] };
    const { out: _out, ...traced } = await this.traceRun(images, n, layer, cotangents, m, rows);
    return traced;
  }

  /** One trace run: n images and m cotangents at `layer` (m fanned out from one image, paired with the n, or each
   *  naming its image in `rowImages`). */
  private async traceRun(images: Float32Array, n: number, layer: string, cotangents: Float32Array, m: number, rowImages?: IndexFeed) {
    const dims = this.checkBatch(images, n);
    const layerDims = this.gc.shape(layer);
    const spec: ExplanationGraphSpec = {
      from: this.explained.tensor,
      to: layer,
      fromIsInput: false,
      gradientsAt: [],
      forwardOutputs: this.explained.inGraph ? [this.explained.tensor] : [],
      ...(rowImages ? { cotangentImage: true } : {}),
    };
    if (cotangents.length !== m * product(layerDims.slice(1)))
      throw new FactError('bad-input', `Expected ${m} cotangents of shape ${layerDims.slice(1).join('×')} at '${layer}'.`);
    const out = await this.run(
      spec,
      {
        [this.ctx.imageInput.name]: { data: images, dims },
        [COTANGENT]: { data: cotangents, dims: [m, ...layerDims.slice(1)] },
      },
      rowImages,
    );
    const input = this.explained.inGraph ? out[this.explained.tensor]! : { data: images, dims };
    return { out, input, traces: out[gradientName(this.explained.tensor)]!, bias: out[BIAS]!.data };
  }

  /** Runs the part of the model after `layer` on supplied features (e.g. an SAE reconstruction), with the
   *  gradient of each row's class logit at the layer. */
  async runHead(
    layer: string,
    features: Float32Array,
    n: number,
    classes: number[] | 'predicted',
  ): Promise<{ logits: Tensor; gradient: Tensor; bias: Float32Array; classes: number[] }> {
    const spec: ExplanationGraphSpec = { from: layer, to: this.ctx.logitsOutput, fromIsInput: true, gradientsAt: [], forwardOutputs: [] };
    const dims = [n, ...this.gc.shape(layer).slice(1)];
    if (features.length !== product(dims))
      throw new FactError('bad-input', `Expected ${n} feature maps of shape ${dims.slice(1).join('×')} for '${layer}'.`);
    const feats = { [layer]: { data: features, dims } };
    const out =
      classes === 'predicted'
        ? await this.run({ ...spec, predictedClass: true }, feats)
        : await this.run(spec, { ...feats, [COTANGENT]: { data: this.oneHot(classes), dims: [n, this.numClasses()] } });
    const logits = out[this.ctx.logitsOutput]!;
    const chosen = classes === 'predicted' ? argmaxRows(logits.data, n, this.numClasses()) : classes;
    return { logits, gradient: out[gradientName(layer)]!, bias: out[BIAS]!.data, classes: chosen };
  }

  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    const forwards = [...this.forwards.values()];
    this.sessions.clear();
    this.forwards.clear();
    await Promise.all([
      ...all.map((p) => p.then((s) => s.opened.session.release()).catch(() => undefined)),
      ...forwards.map((p) => p.then((o) => o.session.release()).catch(() => undefined)),
    ]);
  }
}

export function argmaxRows(data: ArrayLike<number>, n: number, k: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (data[i * k + j]! > data[i * k + best]!) best = j;
    return best;
  });
}

function checkOutputIsLinear(ctx: ModelContext, lin: Linearization, from: string): void {
  const out = ctx.logitsOutput;
  const k = lin.kind.get(out);
  if (k === 'linear' || k === 'affine') return;
  if (k === 'dynamic') {
    const why = lin.dynamicBecause.get(out) ?? 'a non-linear operation';
    throw new FactError(
      'unsupported-model',
      `'${ctx.file}' is not dynamic-linear: its output '${out}' is not a linear function of the input '${from}' because ${why}.`,
      { file: ctx.file },
    );
  }
  throw new FactError('unsupported-model', `'${ctx.file}' output '${out}' does not depend on the input '${from}'.`, { file: ctx.file });
}

/** Ops whose transpose reads a parameter as a constant (a Slice's starts, a Gather's indices, a Pad's pads, …). */
const CONSTANT_PARAMETERS = new Set(['Slice', 'Pad', 'Gather', 'ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'Split']);

/** A parameter the normalisation could not fold because it follows the batch size: name the node that needs it. */
function checkFoldedParameters(ctx: ModelContext, path: OnnxNode[], lin: Linearization): void {
  for (const n of path) {
    if (!CONSTANT_PARAMETERS.has(n.opType)) continue;
    for (const t of n.input.slice(1)) {
      const p = t ? ctx.batchDependent.get(t) : undefined;
      if (!p || lin.kind.get(t) === 'linear' || lin.kind.get(t) === 'affine') continue;
      throw new FactError(
        'unsupported-model',
        `${describeNode(n)} in '${ctx.file}' takes '${t}', which ${describeNode(p)} computes from the batch size: it cannot be folded to a constant, so the node cannot be transposed. Compute it from the image's shape without the batch axis (or export with a fixed batch).`,
        { file: ctx.file, node: n.name, op: n.opType },
      );
    }
  }
}

/** The graph cache, for sessions given one that run on the CPU (an optimised graph is specific to its provider). */
async function graphCacheFor(options: SessionOptions): Promise<{ store: GraphCache; note?: string } | undefined> {
  if (!options.graphCache) return undefined;
  const where = await runsOnCpu(options);
  return where.cpu ? { store: new GraphCache(options.graphCache), ...(where.note ? { note: where.note } : {}) } : undefined;
}

function cpuOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  return { ...baseOptions(options), executionProviders: ['cpu'] };
}

function graphKey(ctx: ModelContext, kind: string, spec?: ExplanationGraphSpec): string {
  // The card can rename the input or output the engine explains, so it is part of what the graph depends on.
  return cacheKey([kind, ctx.loaded.sha256, ctx.card ?? null, spec ?? null]);
}

/** The probed shapes from the cache, or probed now (and cached). */
async function cachedShapes(
  ctx: ModelContext,
  options: SessionOptions,
  probe: () => Promise<Map<string, number[]>>,
): Promise<Map<string, number[]>> {
  const cache = await graphCacheFor(options);
  if (!cache) return probe();
  const key = graphKey(ctx, 'shapes');
  const known = await cache.store.readJson<[string, number[]][]>(key);
  if (Array.isArray(known)) return new Map(known);
  const shapes = await probe();
  await cache.store.writeJson(key, [...shapes]).catch(() => undefined);
  return shapes;
}

/** One pass at batch 1 (or the model's fixed batch) that records the shape of every tensor on the linear path and of the factors it reads. */
async function probeShapes(ctx: ModelContext, lin: Linearization, from: string, options: SessionOptions): Promise<Map<string, number[]>> {
  const path = linearPath(ctx.index.order, lin, from, ctx.logitsOutput);
  const tensors = new Set<string>([from, ctx.logitsOutput]);
  for (const n of path) for (const t of [...n.input, ...n.output]) if (t && ctx.index.producer.has(t)) tensors.add(t);
  for (const t of [...tensors]) if (ctx.index.realInputs.includes(t)) tensors.delete(t);
  const { channels, height, width } = ctx.imageInput;
  const inputDims = [ctx.fixedBatch ?? 1, channels, height ?? ctx.preprocess.centerCrop, width ?? ctx.preprocess.centerCrop];
  // The normalisation's run (in its child process) recorded every tensor's shape; run again only if one is missing.
  if ([...tensors].every((t) => ctx.shapes.has(t))) {
    const shapes = new Map<string, number[]>([...tensors].map((t) => [t, ctx.shapes.get(t)!]));
    shapes.set(ctx.imageInput.name, inputDims);
    for (const init of ctx.loaded.graph.initializer) shapes.set(init.name, init.dims.map(Number));
    return shapes;
  }
  const taps = [...tensors].filter((t) => t !== ctx.logitsOutput);
  const opened = await openSession(encodeWithExtraOutputs(ctx.loaded.model, taps), options);
  try {
    const dims = inputDims;
    const data = new Float32Array(product(dims)).fill(0.5);
    const r = await opened.session.run({ [ctx.imageInput.name]: new ort.Tensor('float32', data, dims) });
    const shapes = new Map<string, number[]>();
    for (const [name, t] of Object.entries(r)) shapes.set(name, t.dims.map(Number));
    shapes.set(ctx.imageInput.name, dims);
    for (const init of ctx.loaded.graph.initializer) shapes.set(init.name, init.dims.map(Number));
    return shapes;
  } finally {
    await opened.session.release();
  }
}

export { describeNode, linearPath, type ConstantValue };
