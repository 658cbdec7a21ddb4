// The engine against PyTorch's explanation-mode autograd on the embedded default model's 32 golden test images:
// logits, features and gradients at every SAE-ready layer, and W(x) for the predicted and another class.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Explainer } from '../../../src/core/engine/explainer';
import { openModel } from '../../../src/core/model/modelContext';
import { defaultModelDir } from '../../support/paths';
import { f32, golden, goldenIndex, ints, relErr } from './goldenSupport';

const TOL = 1e-4;

describe('the engine agrees with PyTorch on the default model', () => {
  it('W(x) for two classes, layer features and layer gradients, on 32 test images', async () => {
    const rel = 'fashion-mnist-bcos/golden.safetensors';
    const entry = goldenIndex().files[rel]!;
    const g = await golden(rel);
    const ctx = await openModel(path.join(defaultModelDir, 'model.onnx'));
    const ex = await Explainer.create(ctx);
    const x = f32(g, 'input');
    const n = x.length / (2 * 28 * 28);
    assert.equal(n, 32);
    const pred = ints(g, 'pred');
    const other = ints(g, 'other');
    const layers = Object.keys(entry.tensors)
      .filter((t) => t.startsWith('grad.'))
      .map((t) => t.slice(5));
    assert.deepEqual(layers.sort(), ['layer2', 'layer3', 'layer4']);
    const { logits, features, gradients } = await ex.layerGradients(x, n, pred, layers);
    assert.ok(relErr(logits.data, f32(g, 'logits')) <= TOL, `logits ${relErr(logits.data, f32(g, 'logits'))}`);
    for (const l of layers) {
      const ef = relErr(features[l]!.data, f32(g, `features.${l}`));
      const eg = relErr(gradients[l]!.data, f32(g, `grad.${l}`));
      assert.ok(ef <= TOL, `features at ${l}: ${ef}`);
      assert.ok(eg <= TOL, `gradient at ${l}: ${eg}`);
    }
    for (const [key, classes] of [
      ['pred', pred],
      ['other', other],
    ] as const) {
      const e = await ex.explain(x, n, classes);
      const w = new Float32Array(n * 2 * 784);
      e.forEach((r, i) => w.set(r.weights, i * 2 * 784));
      const err = relErr(w, f32(g, `wx.${key}`));
      assert.ok(err <= TOL, `W(x) for the ${key} class: ${err}`);
      for (const r of e) assert.ok(r.completenessError <= 1e-5 * Math.max(1, Math.abs(r.logit)), `completeness ${r.completenessError}`);
    }
    // Completeness alone proves nothing: the full (un-detached) gradient is complete too, yet it is not W(x).
    const full = f32(g, 'wxFull.pred');
    const e = await ex.explain(x, n, pred);
    const w = new Float32Array(n * 2 * 784);
    e.forEach((r, i) => w.set(r.weights, i * 2 * 784));
    assert.ok(relErr(w, full) > 100 * TOL, 'W(x) differs from the full gradient, so the right factors were frozen');
    await ex.dispose();
  });
});
