// What an input trace sums to. For a cotangent u at a layer F, explanation mode makes F = J·x + b (b: constants
// joining the path before the layer, such as a ViT's positional embedding), so Σ x·(Jᵀu) + ⟨u, b⟩ = ⟨u, F⟩. A concept's
// presence is such a ⟨u, F⟩, so its trace sums to the presence only when no constant joins (b = 0).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Explainer } from '../../../src/core/engine/explainer';
import { openModel } from '../../../src/core/model/modelContext';
import { seededRandom } from '../../support/denseJacobian';
import { fixtures } from '../../support/paths';
import { f32, golden } from '../golden/goldenSupport';

async function traceSums(pattern: string): Promise<{ target: number[]; traceSum: number[]; bias: number[] }> {
  const ctx = await openModel(path.join(fixtures, 'patterns', pattern, 'model.onnx'));
  const ex = await Explainer.create(ctx);
  // The layer: the first LayerNorm's output (in the ViT, after the positional embedding joins).
  const layer = ctx.loaded.graph.node.find((n) => n.opType === 'LayerNormalization')!.output[0]!;
  const g = await golden(`patterns/${pattern}/golden.safetensors`);
  const all = f32(g, 'image');
  const x = all.subarray(0, all.length / 2);
  const per = ex
    .shapeOf(layer)
    .slice(1)
    .reduce((a, d) => a * d, 1);
  const rand = seededRandom(9);
  const m = 3;
  const u = Float32Array.from({ length: m * per }, () => rand() - 0.3);
  const t = await ex.traceFromLayer(x, layer, u, m);
  const input = t.input.data;
  const target: number[] = [],
    traceSum: number[] = [],
    bias: number[] = [];
  for (let i = 0; i < m; i++) {
    let ft = 0,
      xs = 0;
    for (let j = 0; j < per; j++) ft += u[i * per + j]! * t.features.data[j]!;
    for (let j = 0; j < input.length; j++) xs += input[j]! * t.traces.data[i * input.length + j]!;
    target.push(ft);
    traceSum.push(xs);
    bias.push(t.bias[i]!);
  }
  await ex.dispose();
  return { target, traceSum, bias };
}

describe('input traces and the constants on the path', () => {
  it("without a constant on the path, a trace sums to ⟨u, F⟩ (a concept's presence) and the bias is zero", async () => {
    const { target, traceSum, bias } = await traceSums('ln2d');
    for (let i = 0; i < target.length; i++) {
      assert.equal(bias[i], 0);
      assert.ok(Math.abs(traceSum[i]! - target[i]!) <= 1e-4 * Math.max(1, Math.abs(target[i]!)), `${traceSum[i]} vs ${target[i]}`);
    }
  });

  it('with a positional embedding on the path, the trace sums to ⟨u, F⟩ minus what the embedding contributes', async () => {
    const { target, traceSum, bias } = await traceSums('vit');
    for (let i = 0; i < target.length; i++) {
      assert.ok(Math.abs(bias[i]!) > 1e-3 * Math.max(1, Math.abs(target[i]!)), `the embedding contributes (${bias[i]})`);
      assert.ok(
        Math.abs(traceSum[i]! - target[i]!) > 1e-3 * Math.max(1, Math.abs(target[i]!)),
        'so the trace alone does not sum to the presence',
      );
      assert.ok(
        Math.abs(traceSum[i]! + bias[i]! - target[i]!) <= 1e-4 * Math.max(1, Math.abs(target[i]!)),
        `${traceSum[i]} + ${bias[i]} vs ${target[i]}`,
      );
    }
  });
});
