// The model-normalisation step every opened model goes through, so that models exported the way their authors
// export them (plain torch.onnx.export) run and analyse like hand-made ones:
//   1. the opset is one onnxruntime 1.30 runs and the engine supports (13 … 26);
//   2. trailing empty optional inputs are dropped (onnxruntime crashes on LayerNormalization(X, scale, ""));
//   3. the model is run once in a child process (a native crash there becomes a readable error naming the node);
//   4. shape computations are folded to constants for the model's fixed image size, the batch kept symbolic, and
//      every remaining shape tensor is declared with its real element type.
// The result is a new in-memory model; the file is never touched.
import { FactError } from '../errors';
import { dropTrailingEmptyInputs } from './emptyInputs';
import { indexGraph } from './graphIndex';
import { crashError, runIsolated } from './isolatedRun';
import { locateCrash } from './locateCrash';
import { encodeModel, opsetVersion } from './modelFile';
import { foldShapeTensors, shapeDerivedTensors, type ProbeRun } from './shapeFolding';
import type { OnnxModel, OnnxNode } from './types';

/** The opsets this engine accepts: 13 (Split/Squeeze/Unsqueeze/Reduce* take their axes as inputs, as the engine
 *  reads them) up to the newest onnxruntime-node 1.30 loads. */
export const MIN_OPSET = 13;
export const MAX_OPSET = 26;

export interface NormalizeOptions {
  /** How the model is called in messages (its file). */
  source: string;
  imageInput: string;
  /** The image input's dimensions after the batch axis. */
  imageDims: number[];
  /** The batch size the model's input fixes, or undefined when it is symbolic. */
  fixedBatch?: number;
  /** Off only to test what happens without it. */
  dropEmptyInputs?: boolean;
}

export interface NormalizedModel {
  model: OnnxModel;
  droppedEmptyInputs: number;
  /** Shape tensors replaced by constants. */
  folded: string[];
  /** Shape tensors that follow the batch size, with the node computing each: constants the engine cannot use. */
  batchDependent: Map<string, OnnxNode>;
  /** The shape of every tensor the graph computes, at batch 1 (or the fixed batch). */
  shapes: Map<string, number[]>;
}

export function checkOpset(model: OnnxModel, source: string): void {
  const v = opsetVersion(model);
  if (v < MIN_OPSET) {
    throw new FactError(
      'unsupported-model',
      `'${source}' uses ONNX opset ${v}; export it with opset_version ≥ ${MIN_OPSET} (17 recommended).`,
      { file: source },
    );
  }
  if (v > MAX_OPSET) {
    throw new FactError(
      'unsupported-model',
      `'${source}' uses ONNX opset ${v}, newer than onnxruntime 1.30 runs (at most ${MAX_OPSET}); export it with opset_version 17.`,
      { file: source },
    );
  }
}

export async function normalizeModel(original: OnnxModel, opts: NormalizeOptions): Promise<NormalizedModel> {
  checkOpset(original, opts.source);
  const { graph, dropped } =
    opts.dropEmptyInputs === false ? { graph: original.graph!, dropped: 0 } : dropTrailingEmptyInputs(original.graph!);
  const model: OnnxModel = { ...original, graph };
  const index = indexGraph(graph);
  const derived = shapeDerivedTensors(index);
  const batches = opts.fixedBatch ? [opts.fixedBatch] : derived.length ? [1, 2] : [1];
  // The first run fetches every tensor, for its shape (the analyses need them, and a second in-process probe is
  // then unnecessary); later runs fetch only the shape computations.
  const every = [...new Set(graph.node.flatMap((n) => n.output).filter(Boolean))];
  const runs = batches.map((n, i) => ({ inputs: { [opts.imageInput]: [n, ...opts.imageDims] }, outputs: i === 0 ? every : derived }));
  const declared = new Set(graph.output.map((o) => o.name));
  const probeModel: OnnxModel = {
    ...model,
    graph: { ...graph, output: [...graph.output, ...every.filter((t) => !declared.has(t)).map((name) => ({ name }))] },
  };
  const result = await runIsolated({ model: encodeModel(probeModel), runs, valuesFor: derived });
  if (!result.ok) {
    if (result.crashed) throw crashError(opts.source, await locateCrash(model, runs[0]!.inputs));
    throw new FactError('unsupported-model', `onnxruntime cannot run '${opts.source}': ${result.message.split('\n')[0]}`, {
      file: opts.source,
    });
  }
  const shapes = new Map(Object.entries(result.runs[0]!).map(([t, v]) => [t, v.dims]));
  if (!derived.length) return { model, droppedEmptyInputs: dropped, folded: [], batchDependent: new Map(), shapes };
  const probeRuns: ProbeRun[] = result.runs.map((tensors, i) => ({ batch: batches[i]!, tensors }));
  const folded = foldShapeTensors(graph, index, derived, probeRuns);
  return {
    model: { ...model, graph: folded.graph },
    droppedEmptyInputs: dropped,
    folded: folded.folded,
    batchDependent: folded.batchDependent,
    shapes,
  };
}
