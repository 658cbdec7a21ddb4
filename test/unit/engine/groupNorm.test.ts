// InstanceNormalization and torch's GroupNorm export on the linear path, frozen as B-cos-v2's detachable group norm
// freezes them: the variance detached, the mean not (centring stays linear).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isFactError } from '../../../src/core/errors';
import { attr, type GraphBuilder } from '../../../src/core/onnx/graphBuilder';
import { maxRelDiff, seededRandom } from '../../support/denseJacobian';
import { transposeVsJacobian } from './opHarness';

/** The frozen-variance Jacobian of a normalisation over groups of entries: within a group of size m,
 *  ∂y_i/∂x_j = γ_i·s·(δ_ij − 1/m), s = 1/√(var+ε) at the test point x0 (opHarness draws x0 from seed 5). */
function frozenVarianceJacobian(size: number, groupOf: (i: number) => number, gammaOf: (i: number) => number, eps: number): Float64Array {
  const rand = seededRandom(5);
  const x0 = Float64Array.from({ length: size }, () => rand() * 2 - 1);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < size; i++) groups.set(groupOf(i), [...(groups.get(groupOf(i)) ?? []), i]);
  const J = new Float64Array(size * size);
  for (const members of groups.values()) {
    const m = members.length;
    const mean = members.reduce((a, i) => a + x0[i]!, 0) / m;
    const s = 1 / Math.sqrt(members.reduce((a, i) => a + (x0[i]! - mean) ** 2, 0) / m + eps);
    for (const i of members) for (const j of members) J[i * size + j] = gammaOf(i) * s * ((i === j ? 1 : 0) - 1 / m);
  }
  return J;
}

/** torch.onnx.export's GroupNorm (opset 17), after shape folding: Reshape (N, G, −1) → InstanceNormalization with
 *  unit scale and zero bias → Reshape back → Mul γ → Add β. */
function groupNorm(g: GraphBuilder, x: string, groups: number, gamma: number[], beta: number[], dims: number[]): string {
  const grouped = g.op('Reshape', [x, g.constant('to_groups', 'int64', [3], [0, groups, -1])]);
  const normed = g.op(
    'InstanceNormalization',
    [
      grouped,
      g.constant('ones', 'float32', [groups], new Array(groups).fill(1)),
      g.constant('zeros', 'float32', [groups], new Array(groups).fill(0)),
    ],
    { epsilon: attr.float(1e-5) },
  );
  const back = g.op('Reshape', [normed, g.constant('back', 'int64', [4], [0, ...dims.slice(1)])]);
  const scaled = g.op('Mul', [back, g.constant('gamma', 'float32', [gamma.length, 1, 1], gamma)]);
  return g.op('Add', [scaled, g.constant('beta', 'float32', [beta.length, 1, 1], beta)], {}, undefined, 'stem/norm/Add');
}

describe('group and instance normalisation in explanation mode', () => {
  it('InstanceNormalization: the variance of each channel frozen, its centring linear', async () => {
    const gamma = [1, -2, 0.5];
    const { engine, reference } = await transposeVsJacobian({
      inDims: [1, 3, 2, 3],
      build: (g, x) =>
        g.op('InstanceNormalization', [x, g.constant('scale', 'float32', [3], gamma), g.constant('b', 'float32', [3], [0, 0, 0])], {
          epsilon: attr.float(1e-5),
        }),
    });
    const want = frozenVarianceJacobian(
      18,
      (i) => Math.floor(i / 6),
      (i) => gamma[Math.floor(i / 6)]!,
      1e-5,
    );
    assert.ok(maxRelDiff(engine, want) < 1e-5, `vs frozen-variance Jacobian: ${maxRelDiff(engine, want)}`);
    assert.ok(maxRelDiff(engine, reference) > 1e-2, 'differs from the full Jacobian, which differentiates the variance');
  });

  it('GroupNorm as torch exports it (2 groups of 2 channels, per-channel γ, zero β)', async () => {
    const gamma = [1.5, -1, 0.25, 2];
    const dims = [1, 4, 2, 2];
    const { engine } = await transposeVsJacobian({ inDims: dims, build: (g, x) => groupNorm(g, x, 2, gamma, [0, 0, 0, 0], dims) });
    const want = frozenVarianceJacobian(
      16,
      (i) => Math.floor(i / 8),
      (i) => gamma[Math.floor(i / 4)]!,
      1e-5,
    );
    assert.ok(maxRelDiff(engine, want) < 1e-5, `vs frozen-variance Jacobian: ${maxRelDiff(engine, want)}`);
  });

  it('refuses a GroupNorm with a non-zero affine bias, naming the node', async () => {
    const dims = [1, 4, 2, 2];
    let error: unknown;
    try {
      await transposeVsJacobian({ inDims: dims, build: (g, x) => groupNorm(g, x, 2, [1, 1, 1, 1], [0, 0.1, 0, 0], dims) });
    } catch (e) {
      error = e;
    }
    assert.ok(isFactError(error) && error.code === 'unsupported-model', String(error));
    assert.match(error.message, /^Add 'stem\/norm\/Add' adds a non-zero affine bias after the group norm InstanceNormalization/);
  });
});
