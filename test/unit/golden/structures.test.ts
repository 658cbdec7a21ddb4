// The engine against PyTorch's explanation-mode autograd on structurally faithful B-cos-v2 ResNet (bottlenecks,
// residual adds), DenseNet (concatenations, transitions) and ViT (detached q·k attention, centred LayerNorm with a
// detached variance, a positional embedding on the path) at 224×224 with 6 input channels.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Explainer } from '../../../src/core/engine/explainer';
import { openModel } from '../../../src/core/model/modelContext';
import { resolveModelLayer } from '../../../src/core/model/modelLayers';
import { fixtures, repoRoot } from '../../support/paths';
import { f32, golden, goldenIndex, ints, relErr } from './goldenSupport';

const TOL = 1e-4;

describe('the engine agrees with PyTorch on the B-cos-v2 structure fixtures', () => {
  const index = goldenIndex();
  for (const arch of ['resnet', 'densenet', 'vit']) {
    it(arch, async () => {
      const entry = index.files[`structures/${arch}/golden.safetensors`]!;
      const g = await golden(`structures/${arch}/golden.safetensors`);
      const images = await golden('structures/images.safetensors');
      const u8 = images.tensors.image!.data as Uint8Array;
      const n = 2;
      const plane = 224 * 224;
      const x = new Float32Array(n * 6 * plane);
      for (let b = 0; b < n; b++)
        for (let c = 0; c < 3; c++)
          for (let p = 0; p < plane; p++) {
            const v = u8[(b * 3 + c) * plane + p]! / 255;
            x[(b * 6 + c) * plane + p] = v;
            x[(b * 6 + c + 3) * plane + p] = 1 - v;
          }
      const ctx = await openModel(path.join(repoRoot, entry.model!));
      assert.equal(ctx.loaded.sha256, entry.modelSha256);
      const ex = await Explainer.create(ctx);
      const pred = ints(g, 'pred');
      const layerName = Object.keys(g.tensors)
        .find((t) => t.startsWith('features.'))!
        .slice('features.'.length);
      const layer = resolveModelLayer(ctx, layerName);
      const { logits, features, gradients } = await ex.layerGradients(x, n, pred, [layer.tensor]);
      assert.ok(relErr(logits.data, f32(g, 'logits')) <= TOL, `logits: ${relErr(logits.data, f32(g, 'logits'))}`);
      assert.ok(relErr(features[layer.tensor]!.data, f32(g, `features.${layerName}`)) <= TOL, 'features');
      const eg = relErr(gradients[layer.tensor]!.data, f32(g, `grad.${layerName}`));
      assert.ok(eg <= TOL, `gradient at ${layerName}: ${eg}`);
      const explained = await ex.explain(x, n, pred);
      const ew = relErr(explained[0]!.weights, f32(g, 'wx.pred'));
      assert.ok(ew <= TOL, `W(x): ${ew}`);
      const contribution = f32(g, 'contribution.pred');
      for (let b = 0; b < n; b++) {
        const e = explained[b]!;
        assert.ok(
          Math.abs(e.contributionSum - contribution[b]!) <= TOL * Math.max(1, Math.abs(contribution[b]!)),
          `image ${b}: Σ x·W ${e.contributionSum} vs ${contribution[b]}`,
        );
        assert.ok(e.completenessError <= 1e-5 * Math.max(1, Math.abs(e.logit)), `image ${b}: completeness ${e.completenessError}`);
        const constant = entry.logitBias! + (entry.constantOnPath ? f32(g, 'posEmbContribution.pred')[b]! : 0);
        assert.ok(Math.abs(e.bias - constant) <= TOL * Math.max(1, Math.abs(constant)), `image ${b}: bias ${e.bias} vs ${constant}`);
      }
      // Completeness for other classes too.
      for (const cls of [0, 1, 500])
        for (const e of await ex.explain(x, n, [cls, cls])) assert.ok(e.completenessError <= 1e-5 * Math.max(1, Math.abs(e.logit)));
      await ex.dispose();
    });
  }

  it('finds the named block boundaries of each architecture as candidate layers', async () => {
    const index = goldenIndex();
    for (const arch of ['resnet', 'densenet', 'vit']) {
      const entry = index.files[`structures/${arch}/golden.safetensors`]!;
      const ctx = await openModel(path.join(fixtures, 'structures', arch, 'model.onnx'));
      for (const name of Object.keys(entry.boundaries!)) assert.equal(resolveModelLayer(ctx, name).tensor, name, `${arch} ${name}`);
    }
  });
});
