// Every graph the product runs, on onnxruntime's WebGPU provider, against the CPU. Without a GPU this runs on Mesa's
// software Vulkan driver (lavapipe), which the test set-up installs (test/support/installLavapipe.mjs); where it
// cannot, these tests skip, printing why. Tolerances (float32 on both sides, different summation orders):
//   logits, W(x), layer gradients, traces, SAE codes: ≤ 1e-4 relative (max |Δ| / max |ref|);
//   completeness |Σ x·W + bias − logit| ≤ 1e-5 · max(1, |logit|), as on the CPU;
//   one SAE training step (TopK, AuxK, Adam): ≤ 1e-4 relative on every output.
// lavapipe is slow and compiles shaders at each session's first run: the models are the tiny and default ones.
import { after, before, describe, it, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FoundationModel } from '../../../src/core/consistency/foundationModel';
import { measureConsistency } from '../../../src/core/consistency/measureConsistency';
import { Explainer } from '../../../src/core/engine/explainer';
import { evaluateSae } from '../../../src/core/evaluate/evaluate';
import { handlers } from '../../../src/core/jobs/methods';
import { CoreServices } from '../../../src/core/jobs/services';
import { openModel, type ModelContext } from '../../../src/core/model/modelContext';
import { resolveModelLayer } from '../../../src/core/model/modelLayers';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { probeProvider } from '../../../src/core/onnx/devices';
import { attr, GraphBuilder } from '../../../src/core/onnx/graphBuilder';
import { encodeModel } from '../../../src/core/onnx/modelFile';
import { trackProviders } from '../../../src/core/onnx/providerUsage';
import { openSession, type ExecutionProvider } from '../../../src/core/onnx/session';
import { seededNormal } from '../../../src/core/sae/initialWeights';
import { SaeEncoder } from '../../../src/core/sae/saeEncoder';
import type { StepHyper } from '../../../src/core/sae/saeReference';
import type { StepState } from '../../../src/core/sae/trainStepGraph';
import { TrainStepSession } from '../../../src/core/sae/trainStepSession';
import { seededRandom } from '../../support/denseJacobian';
import { randomSae } from '../../support/naiveSae';
import { defaultModelDir, fixtures, tempDir } from '../../support/paths';
import { tinyDataset } from '../../support/tinyImages';
import * as ort from 'onnxruntime-node';

const TOL = 1e-4;
let unavailable: string | undefined = 'not probed yet';

/** max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let diff = 0,
    scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / (scale || 1);
}

function skipped(t: TestContext): boolean {
  if (unavailable) t.skip(`WebGPU is not available here: ${unavailable}`);
  return unavailable !== undefined;
}

/** Images of the default model: seeded noise in [0, 1], encoded as [x, 1 − x]. */
function defaultImages(n: number, seed = 3): Float32Array {
  const r = seededRandom(seed);
  const out = new Float32Array(n * 2 * 784);
  for (let b = 0; b < n; b++)
    for (let p = 0; p < 784; p++) {
      const v = r();
      out[b * 1568 + p] = v;
      out[b * 1568 + 784 + p] = 1 - v;
    }
  return out;
}

describe('every graph on WebGPU agrees with the CPU', () => {
  let ctx: ModelContext;
  const explainers: Partial<Record<ExecutionProvider, Explainer>> = {};

  before(async () => {
    process.env.XDG_RUNTIME_DIR ??= mkdtempSync(path.join(tmpdir(), 'fact-xdg-'));
    const probe = await probeProvider('webgpu');
    unavailable = probe.available ? undefined : probe.problem;
    if (unavailable) console.log(`# WebGPU tests skipped: ${unavailable}`);
    else console.log(`# WebGPU adapter: ${probe.device}`);
    ctx = await openModel(path.join(defaultModelDir, 'model.onnx'));
    if (!unavailable) for (const ep of ['cpu', 'webgpu'] as const) explainers[ep] = await Explainer.create(ctx, { executionProvider: ep });
  });

  after(async () => {
    for (const e of Object.values(explainers)) await e?.dispose();
  });

  it('explains single images and a batch (W(x), logits, completeness ≤ 1e-5)', async (t) => {
    if (skipped(t)) return;
    const x = defaultImages(3);
    for (const n of [1, 3]) {
      const batch = x.subarray(0, n * 1568);
      const { value: gpu, ranOn } = await trackProviders(() => explainers.webgpu!.explain(batch, n));
      assert.equal(ranOn.executionProvider, 'webgpu', `ran on ${ranOn.executionProvider}: ${ranOn.fallbackReason}`);
      const cpu = await explainers.cpu!.explain(batch, n);
      for (let b = 0; b < n; b++) {
        assert.equal(gpu[b]!.classIndex, cpu[b]!.classIndex);
        assert.ok(relErr(gpu[b]!.logits, cpu[b]!.logits) <= TOL, `logits ${relErr(gpu[b]!.logits, cpu[b]!.logits)}`);
        assert.ok(relErr(gpu[b]!.weights, cpu[b]!.weights) <= TOL, `W(x) ${relErr(gpu[b]!.weights, cpu[b]!.weights)}`);
        assert.ok(gpu[b]!.completenessError <= 1e-5 * Math.max(1, Math.abs(gpu[b]!.logit)), `completeness ${gpu[b]!.completenessError}`);
      }
    }
  });

  it('explains a 6-channel B-cos ResNet (ORT 1.30 WebGPU gets Conv with 6 input channels wrong; our rewrite fixes it)', async (t) => {
    if (skipped(t)) return;
    const resnet = await openModel(path.join(fixtures, 'structures', 'resnet', 'model.onnx'));
    const x = new Float32Array(6 * 224 * 224);
    const r = seededRandom(5);
    for (let p = 0; p < 224 * 224 * 3; p++) {
      const v = r();
      x[p] = v;
      x[p + 3 * 224 * 224] = 1 - v;
    }
    const results = [];
    for (const ep of ['cpu', 'webgpu'] as const) {
      const ex = await Explainer.create(resnet, { executionProvider: ep });
      results.push((await ex.explain(x, 1, [1]))[0]!);
      await ex.dispose();
    }
    const [cpu, gpu] = results as [(typeof results)[0], (typeof results)[0]];
    assert.ok(relErr(gpu.logits, cpu.logits) <= TOL, `logits ${relErr(gpu.logits, cpu.logits)}`);
    assert.ok(relErr(gpu.weights, cpu.weights) <= TOL, `W(x) ${relErr(gpu.weights, cpu.weights)}`);
    assert.ok(gpu.completenessError <= 1e-5 * Math.max(1, Math.abs(gpu.logit)), `completeness ${gpu.completenessError}`);
  });

  it('collects: layer features and their gradients (what collection samples) and a collect job', async (t) => {
    if (skipped(t)) return;
    const x = defaultImages(4, 7);
    const [cpu, gpu] = [
      await explainers.cpu!.layerGradients(x, 4, 'predicted', ['layer3']),
      await explainers.webgpu!.layerGradients(x, 4, 'predicted', ['layer3']),
    ];
    assert.ok(relErr(gpu.features.layer3!.data, cpu.features.layer3!.data) <= TOL, 'features');
    assert.ok(
      relErr(gpu.gradients.layer3!.data, cpu.gradients.layer3!.data) <= TOL,
      `gradients ${relErr(gpu.gradients.layer3!.data, cpu.gradients.layer3!.data)}`,
    );
    const services = new CoreServices({ executionProvider: 'webgpu' });
    const out = tempDir('fact-webgpu-collect-');
    const m = await handlers.collect(
      {
        model: path.join(defaultModelDir, 'model.onnx'),
        layer: 'layer3',
        dataset: { kind: 'split', split: 'test' },
        outDir: out,
        limit: 8,
      },
      services,
      { signal: new AbortController().signal, progress: () => undefined },
    );
    assert.equal(m.executionProvider, 'webgpu', String(m.fallbackReason));
    assert.ok(m.shards.length > 0);
    await services.dispose();
  });

  it('concept traces for the atlas (traces from a layer, and their completeness)', async (t) => {
    if (skipped(t)) return;
    const x = defaultImages(1, 11);
    const m = 3;
    const shape = explainers.cpu!.shapeOf(resolveModelLayer(ctx, 'layer3').tensor);
    const size = shape.slice(1).reduce((a, d) => a * d, 1);
    const r = seededRandom(2);
    const cot = Float32Array.from({ length: m * size }, () => r() - 0.5);
    const cpu = await explainers.cpu!.traceFromLayer(x, 'layer3', cot, m);
    const gpu = await explainers.webgpu!.traceFromLayer(x, 'layer3', cot, m);
    assert.ok(relErr(gpu.traces.data, cpu.traces.data) <= TOL, `traces ${relErr(gpu.traces.data, cpu.traces.data)}`);
    assert.ok(relErr(gpu.bias, cpu.bias) <= TOL, 'bias');
  });

  it('evaluates an SAE (encoder with TopK on WebGPU) and measures C² (foundation model on WebGPU)', async (t) => {
    if (skipped(t)) return;
    const tiny = await openModel(path.join(fixtures, 'tiny', 'tiny.onnx'));
    const sae = randomSae(8, 24, 3, 2);
    const ds = await tinyDataset(16, (i, p) => p * (i + 5) * 23 + i * 11);
    const reports = [];
    for (const ep of ['cpu', 'webgpu'] as const) {
      const runner = new ModelRunner({ executionProvider: ep });
      const explainer = await Explainer.create(tiny, { executionProvider: ep });
      const encoder = await SaeEncoder.create(sae, { executionProvider: ep });
      assert.equal(encoder.executionProvider, ep, String(encoder.fallbackReason));
      const encode = (v: Float32Array, n: number) => encoder.encode(v, n);
      const { metrics, records } = await evaluateSae(tiny, runner, explainer, {
        layer: 'layer2',
        dataset: ds,
        sae,
        encode,
        keepRecords: true,
      });
      const g = new GraphBuilder('foundation');
      g.input('image', 'float32', ['N', 1, 8, 8]);
      const rand = seededRandom(9);
      const w = g.constant(
        'w',
        'float32',
        [6, 1, 3, 3],
        Float32Array.from({ length: 54 }, () => rand() - 0.5),
      );
      g.op('Relu', [g.op('Conv', ['image', w], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) })], {}, 'features');
      g.output('features');
      const file = path.join(tempDir('fact-webgpu-found-'), 'foundation.onnx');
      (await import('node:fs')).writeFileSync(file, encodeModel(g.model()));
      const foundation = await FoundationModel.open(file, { executionProvider: ep });
      const c2 = await measureConsistency(tiny, runner, explainer, {
        layer: 'layer2',
        sae,
        encode,
        records: records!,
        dataset: ds,
        foundation,
      });
      reports.push({ metrics, c2 });
      await foundation.dispose();
      await encoder.dispose();
      await explainer.dispose();
      await runner.dispose();
    }
    const [cpu, gpu] = reports as [(typeof reports)[0], (typeof reports)[0]];
    assert.equal(gpu.metrics.accuracyWithSae, cpu.metrics.accuracyWithSae);
    assert.ok(
      Math.abs(gpu.metrics.fvu - cpu.metrics.fvu) <= TOL * Math.max(1, Math.abs(cpu.metrics.fvu)),
      `FVU ${gpu.metrics.fvu} vs ${cpu.metrics.fvu}`,
    );
    assert.ok(gpu.metrics.worstCompletenessRel <= 1e-5, `completeness ${gpu.metrics.worstCompletenessRel}`);
    assert.deepEqual(
      gpu.c2.concepts.map((c) => c.concept),
      cpu.c2.concepts.map((c) => c.concept),
    );
    assert.ok(
      relErr(
        gpu.c2.concepts.map((c) => c.score),
        cpu.c2.concepts.map((c) => c.score),
      ) <= TOL,
      'C² per concept',
    );
  });

  it('takes SAE training steps (TopK, AuxK, Adam) as the CPU does', async (t) => {
    if (skipped(t)) return;
    const d = 16,
      K = 64,
      k = 4,
      B = 32;
    const hyper: StepHyper = { dModel: d, dictSize: K, k, auxkMax: 8, auxkCoef: 1 / 32, clipNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    const n = seededNormal(4);
    const f = (len: number, g: () => number) => Float32Array.from({ length: len }, g);
    const state: StepState<Float32Array> = {
      wEnc: f(K * d, n),
      wDec: f(d * K, () => n() / 4),
      mEnc: f(K * d, () => 0.01 * n()),
      vEnc: f(K * d, () => 1e-4 * n() ** 2),
      mDec: f(d * K, () => 0.01 * n()),
      vDec: f(d * K, () => 1e-4 * n() ** 2),
      step: 3,
    };
    const input = {
      x: f(B * d, n),
      batch: B,
      state,
      lr: 1e-3,
      deadCandidates: Uint8Array.from({ length: K }, (_, j) => (j % 3 === 0 ? 1 : 0)),
    };
    const out = [];
    for (const ep of ['cpu', 'webgpu'] as const) {
      const s = await TrainStepSession.open({ ...hyper, auxK: true }, { executionProvider: ep });
      assert.equal(s.executionProvider, ep, String(s.fallbackReason));
      out.push(await s.run(input));
      await s.dispose();
    }
    const [cpu, gpu] = out as [(typeof out)[0], (typeof out)[0]];
    for (const key of ['wEnc', 'wDec', 'mEnc', 'vEnc', 'mDec', 'vDec'] as const) {
      assert.ok(relErr(gpu.state[key], cpu.state[key]) <= TOL, `${key}: ${relErr(gpu.state[key], cpu.state[key])}`);
    }
    assert.ok(Math.abs(gpu.loss - cpu.loss) <= TOL * Math.abs(cpu.loss), `loss ${gpu.loss} vs ${cpu.loss}`);
    assert.ok(
      Math.abs(gpu.auxLoss - cpu.auxLoss) <= TOL * Math.max(1e-6, Math.abs(cpu.auxLoss)),
      `aux loss ${gpu.auxLoss} vs ${cpu.auxLoss}`,
    );
    assert.deepEqual(Array.from(gpu.fireCounts), Array.from(cpu.fireCounts));
  });

  it('moves a graph whose first WebGPU run fails to the CPU, naming the node (Resize with antialias)', async (t) => {
    if (skipped(t)) return;
    const g = new GraphBuilder('antialias');
    const x = g.input('x', 'float32', [1, 1, 8, 8]);
    g.output(
      g.op(
        'Resize',
        [x, '', g.constant('scales', 'float32', [4], [1, 1, 0.5, 0.5])],
        { mode: attr.string('linear'), antialias: attr.int(1) },
        'y',
        'downscale',
      ),
    );
    const opened = await openSession(encodeModel(g.model(18)), { executionProvider: 'webgpu' });
    assert.equal(opened.executionProvider, 'webgpu');
    const input = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 64 }, (_, i) => i),
      [1, 1, 8, 8],
    );
    const { value, ranOn } = await trackProviders(() => opened.session.run({ x: input }));
    assert.equal(opened.executionProvider, 'cpu');
    assert.match(
      opened.fallbackReason ?? '',
      /^webgpu could not run node 'downscale' \(Resize\) \(.*antialias.*\); this graph runs on the CPU instead\.$/,
    );
    assert.equal(ranOn.executionProvider, 'cpu');
    assert.equal(ranOn.fallbackReason, opened.fallbackReason);
    const cpu = await openSession(encodeModel(g.model(18)), { executionProvider: 'cpu' });
    assert.deepEqual(Array.from(value.y!.data as Float32Array), Array.from((await cpu.session.run({ x: input })).y!.data as Float32Array));
    await opened.session.release();
    await cpu.session.release();
  });
});
