// Trailing empty optional inputs. torch exports a bias-free LayerNorm as LayerNormalization(X, scale, ""): legal
// ONNX, but onnxruntime-node 1.30 crashes on it (upstream onnxruntime issue 18967). An empty name at the end of
// a node's inputs means "not given", exactly as a shorter input list does, so dropping them changes nothing else.
import type { OnnxGraph } from './types';

export function dropTrailingEmptyInputs(g: OnnxGraph): { graph: OnnxGraph; dropped: number } {
  let dropped = 0;
  const node = g.node.map((n) => {
    let end = n.input.length;
    while (end > 0 && !n.input[end - 1]) end--;
    if (end === n.input.length) return n;
    dropped += n.input.length - end;
    return { ...n, input: n.input.slice(0, end) };
  });
  return { graph: { ...g, node }, dropped };
}
