// Turns the core's inspection into the flat, display-ready shape the model panel receives (no vscode import:
// unit-testable).
import type { ModelInspection } from '../../core/model/inspectModel';
import { formatShape } from '../../core/onnx/inspect';
import type { ModelView } from '../../../webview/shared/protocol';

export function toModelView(r: ModelInspection): ModelView {
  return {
    name: r.name,
    file: r.file,
    sha256: r.sha256,
    producer: r.summary.producer,
    opset: r.summary.opset,
    nodeCount: r.summary.nodeCount,
    parameterCount: r.summary.parameterCount,
    opCounts: Object.entries(r.summary.opCounts)
      .sort((a, b) => b[1] - a[1])
      .map(([op, count]) => ({ op, count })),
    inputs: r.summary.inputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: formatShape(t.shape) })),
    outputs: r.summary.outputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: formatShape(t.shape) })),
    imageInput: {
      name: r.imageInput.name,
      channels: r.imageInput.channels,
      colorSpace: r.imageInput.colorSpace,
      encoding: r.imageInput.encoding,
    },
    layers: r.layers.map((l) => ({
      label: l.label,
      tensor: l.tensor,
      shape: formatShape(l.shape),
      aliases: l.aliases,
      recommended: r.recommendedLayers.includes(l.label),
      depth: l.depth,
    })),
    classes: r.classes ?? null,
    hasCard: r.hasCard,
  };
}
