// Where onnxruntime places our graphs' nodes under the WebGPU provider. It silently runs nodes whose op the provider
// lacks on the CPU; onnxruntime's verbose log (FACT_ORT_LOG_SEVERITY=0) lists the placement of every node. The
// heavy nodes must run on the GPU; the few CPU ones are listed here, each light (shapes, one-hot cotangents, a
// step counter). Before the WebGPU rewrites (src/core/onnx/webgpuRewrites.ts) the explanation graphs also ran
// their gradient accumulations (Sum of image-sized tensors) on the CPU.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { probeProvider } from '../../../src/core/onnx/devices';
import { parseNodePlacements } from '../../support/nodePlacement';
import { repoRoot } from '../../support/paths';

/** Ops that must never run on the CPU under WebGPU. */
const HEAVY = new Set([
  'Conv',
  'ConvTranspose',
  'MatMul',
  'Gemm',
  'TopK',
  'ReduceSum',
  'ReduceMean',
  'ReduceMax',
  'ReduceSumSquare',
  'Sum',
  'Mul',
  'Div',
  'ScatterElements',
  'ScatterND',
  'GatherElements',
  'Einsum',
  'AveragePool',
  'MaxPool',
  'Softmax',
]);

const TRAINING_STEP = 'SAE training step (TopK, AuxK, Adam)';

/** What runs on the CPU today, per graph, as "OpType" (light: on shapes, scalars or N×classes). */
const EXPECTED_CPU: Record<string, string[]> = {
  explanation: ['OneHot', 'Slice', 'Concat'],
  'layer gradients (collection)': ['OneHot', 'Slice', 'Concat'],
  'traces (atlas, C², concepts)': ['Slice', 'ConstantOfShape'],
  'SAE encoder (TopK)': [],
  // Gather/Cast/Add: the int64 step counter (Adam's bias correction) and the batch size; Where/Reshape/Shape/
  // ConstantOfShape: the AuxK "fired" marks, built on the [B,k] int64 indices (WebGPU has no int64 Where).
  'SAE training step (TopK, AuxK, Adam)': ['Gather', 'Cast', 'Reshape', 'Add', 'Where', 'Shape', 'ConstantOfShape'],
};

describe('node placement under WebGPU', () => {
  let unavailable: string | undefined;
  before(async () => {
    process.env.XDG_RUNTIME_DIR ??= mkdtempSync(path.join(tmpdir(), 'fact-xdg-'));
    const probe = await probeProvider('webgpu');
    unavailable = probe.available ? undefined : probe.problem;
  });

  it('runs every heavy node on the GPU; lists the light ones on the CPU', (t) => {
    if (unavailable) return t.skip(`WebGPU is not available here: ${unavailable}`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test', 'support', 'webgpuPlacementProbe.ts')], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, FACT_ORT_LOG_SEVERITY: '0' },
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const log = `${r.stdout}\n${r.stderr}`;
    const parts = log.split(/\nFACT-GRAPH (.+)\n/);
    const seen: Record<string, string[]> = {};
    for (let i = 1; i + 1 < parts.length; i += 2) {
      const graph = parts[i]!;
      if (graph === 'end') continue;
      const sessions = parseNodePlacements(parts[i + 1]!);
      assert.ok(sessions.length > 0, `no placement logged for ${graph}`);
      // The training step's gradient sums run, on purpose, in their own one-thread CPU session (src/core/sae/
      // trainStepSession.ts): ScatterND's add is only exact and deterministic there. That session is the one exception.
      // onnxruntime logs a CPU-only session as "All nodes placed on [CPUExecutionProvider]", without its nodes.
      const deliberate = sessions.filter((x) => graph === TRAINING_STEP && x.allOn === 'CPUExecutionProvider');
      if (graph === TRAINING_STEP)
        assert.equal(deliberate.length, 1, 'the training step has one deliberate CPU session (its gradient sums)');
      const gpuSessions = sessions.filter((x) => !deliberate.includes(x));
      const cpu = gpuSessions.flatMap((s) => s.nodes.filter((n) => n.provider === 'CPUExecutionProvider'));
      for (const s of gpuSessions)
        assert.ok(s.providers.includes('WebGpuExecutionProvider'), `${graph}: a session without WebGPU (${s.providers.join(', ')})`);
      const heavy = cpu.filter((n) => HEAVY.has(n.opType));
      assert.deepEqual(
        heavy.map((n) => `${n.opType} (${n.node})`),
        [],
        `${graph}: heavy nodes on the CPU`,
      );
      seen[graph] = [...new Set(cpu.map((n) => n.opType))];
    }
    for (const [graph, ops] of Object.entries(EXPECTED_CPU)) {
      assert.ok(seen[graph], `the probe did not reach '${graph}'`);
      assert.deepEqual([...seen[graph]!].sort(), [...new Set(ops)].sort(), `${graph}: nodes on the CPU`);
    }
  });
});
