// The tensor an explanation is taken with respect to: B-cos explains the encoded input [x, 1 − x]. A model that
// takes encoded images explains its graph input; a model that encodes inside the graph (Concat(x, 1 − x)) explains
// that Concat's output, as the reference does. A card may name the tensor when detection is not possible.
import { FactError } from '../errors';
import type { ModelContext } from '../model/modelContext';
import type { ConstantValue } from '../onnx/constants';

export interface ExplainedInput {
  /** The tensor W(x) is the gradient with respect to. */
  tensor: string;
  /** True when the graph computes it from the raw input (then it is tapped as an extra output). */
  inGraph: boolean;
  channels: number;
}

export function findExplainedInput(ctx: ModelContext, constant: (t: string) => ConstantValue | undefined): ExplainedInput {
  const named = ctx.card?.explainInput as string | undefined;
  const input = ctx.imageInput;
  if (named && named !== input.name) {
    if (!ctx.index.producer.has(named))
      throw new FactError('bad-card', `The card of '${ctx.file}' names explainInput '${named}', which the model does not produce.`, {
        file: ctx.file,
      });
    return { tensor: named, inGraph: true, channels: input.channels * 2 };
  }
  if (input.encoding === 'encoded' || named === input.name) return { tensor: input.name, inGraph: false, channels: input.channels };
  // Look for Concat(x, 1 − x) (in either order) directly on the raw input.
  for (const n of ctx.index.consumers.get(input.name) ?? []) {
    if (n.opType !== 'Concat' || n.input.length !== 2) continue;
    const other = n.input.find((t) => t !== input.name);
    const sub = other ? ctx.index.producer.get(other) : undefined;
    if (sub?.opType === 'Sub' && sub.input[1] === input.name) {
      const one = constant(sub.input[0]!);
      if (one && one.data.length === 1 && one.data[0] === 1) return { tensor: n.output[0]!, inGraph: true, channels: input.channels * 2 };
    }
  }
  throw new FactError(
    'unsupported-model',
    `'${ctx.file}' takes raw ${input.channels}-channel images and no [x, 1 − x] encoding was found in its graph. B-cos explanations are taken with respect to the encoded input: export the model with the encoding, or name the encoded tensor as "explainInput" in its card.json.`,
    { file: ctx.file },
  );
}
