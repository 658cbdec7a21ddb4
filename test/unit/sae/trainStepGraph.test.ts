import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { seededNormal } from '../../../src/core/sae/initialWeights';
import { referenceTrainStep, type StepHyper } from '../../../src/core/sae/saeReference';
import type { StepState } from '../../../src/core/sae/trainStepGraph';
import { TrainStepSession } from '../../../src/core/sae/trainStepSession';

const d = 6,
  K = 20,
  k = 3,
  B = 4;
const hyper: StepHyper = { dModel: d, dictSize: K, k, auxkMax: 4, auxkCoef: 0.5, clipNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Untied random weights, non-zero moments, some steps already taken: every branch of the step has work to do. */
function randomCase(seed: number) {
  const n = seededNormal(seed);
  const fill = (len: number, f: () => number) => Float64Array.from({ length: len }, f);
  const state: StepState<Float64Array> = {
    wEnc: fill(K * d, n),
    wDec: fill(d * K, () => n() / Math.sqrt(d)),
    mEnc: fill(K * d, () => 0.01 * n()),
    vEnc: fill(K * d, () => 1e-4 * n() ** 2),
    mDec: fill(d * K, () => 0.01 * n()),
    vDec: fill(d * K, () => 1e-4 * n() ** 2),
    step: 3,
  };
  return { x: fill(B * d, n), state, deadCandidates: new Uint8Array(K).fill(1) };
}

const toF32 = (s: StepState<Float64Array>): StepState<Float32Array> => ({
  wEnc: Float32Array.from(s.wEnc),
  wDec: Float32Array.from(s.wDec),
  mEnc: Float32Array.from(s.mEnc),
  vEnc: Float32Array.from(s.vEnc),
  mDec: Float32Array.from(s.mDec),
  vDec: Float32Array.from(s.vDec),
  step: s.step,
});

/** max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / (scale || 1);
}

describe('the SAE training-step graph', () => {
  it("has the float64 reference's raw gradients at 1, 2 and 4 threads, with many vectors on each latent", async () => {
    // 512 vectors, 16 latents, k 4: each latent is picked ~128 times per batch, so the gradient sums have many
    // colliding terms (a racing scatter-add loses some of them on 2+ threads).
    const h: StepHyper = { ...hyper, dModel: 8, dictSize: 16, k: 4 };
    const n = seededNormal(11);
    const fill = (len: number, f: () => number) => Float64Array.from({ length: len }, f);
    const batch = 512;
    const state: StepState<Float64Array> = {
      wEnc: fill(16 * 8, n),
      wDec: fill(8 * 16, () => n() / Math.sqrt(8)),
      mEnc: fill(16 * 8, () => 0),
      vEnc: fill(16 * 8, () => 0),
      mDec: fill(8 * 16, () => 0),
      vDec: fill(8 * 16, () => 0),
      step: 0,
    };
    const x = fill(batch * 8, n);
    const deadCandidates = new Uint8Array(16).fill(1);
    const ref = referenceTrainStep({ x, batch, state, lr: 1e-3, deadCandidates }, h);
    for (const threads of [1, 2, 4]) {
      const step = await TrainStepSession.open({ ...h, auxK: true, dtype: 'float64', gradientOutputs: true }, { threads });
      try {
        for (let run = 0; run < 3; run++) {
          const out = await step.run({ x, batch, state, lr: 1e-3, deadCandidates });
          assert.deepEqual(Array.from(out.fireCounts), Array.from(ref.fireCounts), `${threads} threads: fire counts`);
          for (const key of ['gradEnc', 'gradDec'] as const) {
            const err = relErr(out[key]!, ref[key]);
            assert.ok(err <= 1e-12, `${threads} threads, run ${run}, ${key}: relative error ${err}`);
            if (process.env.SAE_TEST_VERBOSE && run === 0)
              console.log(`${threads} threads ${key}: max relative error ${err.toExponential(2)}`);
          }
        }
      } finally {
        await step.dispose();
      }
    }
  });

  for (const auxkMax of [4, 64]) {
    it(`has the gradients of its loss (central finite differences, float64, AuxK with ${auxkMax === 4 ? 'auxkMax < #dead' : '#dead < auxkMax'})`, async () => {
      const h = { ...hyper, auxkMax };
      const { x, state, deadCandidates } = randomCase(1);
      deadCandidates[0] = 0; // a latent that is not a candidate never joins AuxK
      const residual = referenceTrainStep({ x, batch: B, state, lr: 1e-3, deadCandidates }, h).error;
      const step = await TrainStepSession.open({ ...h, auxK: true, dtype: 'float64', gradientOutputs: true, residualInput: true });
      const base = await step.run({ x, batch: B, state, lr: 1e-3, deadCandidates, residual });
      assert.ok(base.auxLoss > 0, 'some latents are dead and AuxK contributes');
      const deadCount = Array.from(base.fireCounts).filter((c, j) => c === 0 && deadCandidates[j]).length;
      assert.ok(auxkMax === 4 ? deadCount > auxkMax : deadCount < auxkMax, `${deadCount} dead latents`);

      const delta = 1e-5;
      for (const key of ['wEnc', 'wDec'] as const) {
        const fd = new Float64Array(state[key].length);
        for (let i = 0; i < fd.length; i++) {
          const at = async (dv: number) => {
            const w = state[key].slice();
            w[i]! += dv;
            return (await step.run({ x, batch: B, state: { ...state, [key]: w }, lr: 1e-3, deadCandidates, residual })).loss;
          };
          fd[i] = ((await at(delta)) - (await at(-delta))) / (2 * delta);
        }
        const err = relErr(key === 'wEnc' ? base.gradEnc! : base.gradDec!, fd);
        assert.ok(err <= 1e-6, `${key}: gradient vs finite differences, relative error ${err}`);
        if (process.env.SAE_TEST_VERBOSE) console.log(`auxkMax ${auxkMax} ${key}: relative error ${err.toExponential(2)}`);
      }
      // The AuxK term really reaches both weights: without it the gradients differ.
      const plain = await TrainStepSession.open({ ...h, auxK: false, dtype: 'float64', gradientOutputs: true });
      const noAux = await plain.run({ x, batch: B, state, lr: 1e-3 });
      assert.ok(relErr(noAux.gradEnc!, base.gradEnc!) > 1e-3 && relErr(noAux.gradDec!, base.gradDec!) > 1e-3);
      await step.dispose();
      await plain.dispose();
    });
  }

  it('equals the TypeScript reference step in float64: loss, metrics, projection, clipping, Adam, renormalisation (fused loops and graphs)', async () => {
    for (const [clipNorm, allGraphs] of [
      [0.05, false],
      [1e6, false],
      [0.05, true],
      [1e6, true],
    ] as const) {
      const { x, state, deadCandidates } = randomCase(2);
      const h = { ...hyper, clipNorm };
      const ref = referenceTrainStep({ x, batch: B, state, lr: 0.01, deadCandidates }, h);
      const step = await TrainStepSession.open(
        { ...h, auxK: true, dtype: 'float64', gradientOutputs: true },
        { cpuPath: allGraphs ? 'graphs' : 'loops' },
      );
      const out = await step.run({ x, batch: B, state, lr: 0.01, deadCandidates });
      const gradNorm = Math.hypot(...out.gradEnc!, ...out.gradDec!);
      assert.ok(
        clipNorm < 1 ? gradNorm > 2 * clipNorm : gradNorm < clipNorm,
        `clipping ${clipNorm < 1 ? 'active' : 'inactive'} (‖g‖ = ${gradNorm})`,
      );
      for (const key of ['loss', 'mse', 'auxLoss', 'sumSq', 'sumSqCentered', 'sumSqErr', 'sumSqErrCentered'] as const) {
        assert.ok(Math.abs(out[key] - ref[key]) <= 1e-12 * Math.max(1, Math.abs(ref[key])), `${key}: ${out[key]} vs ${ref[key]}`);
      }
      assert.deepEqual(Array.from(out.fireCounts), Array.from(ref.fireCounts));
      for (const key of ['wEnc', 'wDec', 'mEnc', 'vEnc', 'mDec', 'vDec'] as const) {
        const err = relErr(out.state[key], ref.state[key]);
        assert.ok(err <= 1e-12, `clipNorm ${clipNorm}${allGraphs ? ', graphs' : ''}, ${key}: relative error ${err}`);
      }
      assert.equal(out.state.step, 4);
      await step.dispose();
    }
  });

  it('updates the state in place when asked, to the same bits as into fresh arrays', async () => {
    const { x, state, deadCandidates } = randomCase(5);
    const x32 = Float32Array.from(x);
    for (const allGraphs of [false, true]) {
      const step = await TrainStepSession.open({ ...hyper, auxK: true }, { cpuPath: allGraphs ? 'graphs' : 'loops' });
      const s32 = toF32(state);
      const fresh = await step.run({ x: x32, batch: B, state: s32, lr: 0.01, deadCandidates });
      assert.deepEqual(Array.from(s32.wDec), Array.from(toF32(state).wDec), 'the input state is left as it was');
      const inPlace = await step.run({ x: x32, batch: B, state: s32, lr: 0.01, deadCandidates, inPlace: true });
      for (const key of ['wEnc', 'wDec', 'mEnc', 'vEnc', 'mDec', 'vDec'] as const) {
        assert.equal(inPlace.state[key], s32[key], `${key} is the input's array`);
        assert.deepEqual(Array.from(inPlace.state[key]), Array.from(fresh.state[key]), `${key}${allGraphs ? ' (graphs)' : ''}`);
      }
      assert.equal(inPlace.state.step, state.step + 1);
      await step.dispose();
    }
  });

  it('equals the reference in float32 within float32 precision', async () => {
    const { x, state, deadCandidates } = randomCase(3);
    const s32 = toF32(state);
    const x32 = Float32Array.from(x);
    const ref = referenceTrainStep(
      { x: x32, batch: B, state: s32, lr: 0.01, deadCandidates, dtype: 'float32' },
      { ...hyper, clipNorm: 0.05 },
    );
    const step = await TrainStepSession.open({ ...hyper, clipNorm: 0.05, auxK: true });
    const out = await step.run({ x: x32, batch: B, state: s32, lr: 0.01, deadCandidates });
    assert.ok(out.auxLoss > 0);
    assert.ok(Math.abs(out.loss - ref.loss) <= 1e-5 * ref.loss);
    for (const key of ['wEnc', 'wDec', 'mEnc', 'vEnc', 'mDec', 'vDec'] as const) {
      const err = relErr(out.state[key], ref.state[key]);
      assert.ok(err <= 1e-4, `${key}: relative error ${err}`);
    }
    await step.dispose();
  });

  it('leaves unit-norm decoder columns, removes the parallel gradient, and has no AuxK term when no latent is dead', async () => {
    const { x, state } = randomCase(4);
    const s32 = toF32(state);
    const x32 = Float32Array.from(x);
    const withAux = await TrainStepSession.open({ ...hyper, auxK: true, gradientOutputs: true });
    const none = new Uint8Array(K);
    const out = await withAux.run({ x: x32, batch: B, state: s32, lr: 0.05, deadCandidates: none });
    for (let j = 0; j < K; j++) {
      let norm = 0;
      for (let p = 0; p < d; p++) norm += out.state.wDec[p * K + j]! ** 2;
      assert.ok(Math.abs(Math.sqrt(norm) - 1) < 1e-5, `column ${j} has norm ${Math.sqrt(norm)}`);
    }
    assert.equal(out.auxLoss, 0);
    assert.equal(out.loss, out.mse);
    // With plain SGD-like first moments (β1 = 0, β2 → huge v), the decoder step is along the projected gradient, so the
    // moment mDec must be orthogonal to each column.
    const projected = await TrainStepSession.open({ ...hyper, auxK: false });
    const fresh = { ...s32, mDec: new Float32Array(d * K), vDec: new Float32Array(d * K), step: 0 };
    const r = await projected.run({ x: x32, batch: B, state: fresh, lr: 0.05 });
    for (let j = 0; j < K; j++) {
      let along = 0,
        norm = 0;
      for (let p = 0; p < d; p++) {
        along += r.state.mDec[p * K + j]! * s32.wDec[p * K + j]!;
        norm += Math.abs(r.state.mDec[p * K + j]!);
      }
      assert.ok(Math.abs(along) <= 1e-5 * Math.max(norm, 1e-12) + 1e-12, `column ${j}: moment along the column ${along}`);
    }
    // Without dead latents the AuxK graph and the plain graph give the same step.
    const plain = await projected.run({ x: x32, batch: B, state: s32, lr: 0.05 });
    assert.ok(relErr(plain.state.wEnc, out.state.wEnc) < 1e-6 && relErr(plain.state.wDec, out.state.wDec) < 1e-6);
    await withAux.dispose();
    await projected.dispose();
  });
});
