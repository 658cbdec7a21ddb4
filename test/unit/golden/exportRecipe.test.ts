// models/recipes/export.py and its helpers: a .pt is loaded as tensors only unless the user trusts it, and the
// onnxruntime cross-check runs raw torch exports (the empty LayerNorm bias dropped first) instead of crashing.
// Needs Debian's python3-torch and python3-onnx; skipped, saying so, where they are not installed.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fixtures, repoRoot, tempDir } from '../../support/paths';
import { f32, golden, relErr } from './goldenSupport';

const python = '/usr/bin/python3';
const recipes = path.join(repoRoot, 'models', 'recipes');
const hasTorch = existsSync(python) && spawnSync(python, ['-c', 'import torch, onnx'], { encoding: 'utf8' }).status === 0;

function py(code: string, ...args: string[]) {
  return spawnSync(python, ['-c', code, ...args], { encoding: 'utf8', cwd: recipes, env: { ...process.env, PYTHONPATH: recipes } });
}

describe('models/recipes/export.py', { skip: hasTorch ? false : 'python3-torch and python3-onnx are not installed' }, () => {
  it('loads a checkpoint as tensors only, and asks for --trust-checkpoint when it holds more', () => {
    const dir = tempDir();
    const write = py(
      `import argparse, sys, torch
w = {'encoder.weight': torch.randn(16, 4), 'decoder.weight': torch.nn.functional.normalize(torch.randn(4, 16), dim=0), 'k': 2}
torch.save(w, sys.argv[1])
torch.save(dict(w, args=argparse.Namespace(lr=0.1)), sys.argv[2])`,
      path.join(dir, 'plain.pt'),
      path.join(dir, 'pickled.pt'),
    );
    assert.equal(write.status, 0, write.stderr);
    const run = (ckpt: string, ...extra: string[]) =>
      spawnSync(
        python,
        [
          path.join(recipes, 'export.py'),
          'sae',
          '--checkpoint',
          path.join(dir, ckpt),
          '--layer',
          'layer2',
          '--model-onnx',
          path.join(fixtures, 'tiny', 'tiny.onnx'),
          '--out',
          path.join(dir, `out-${ckpt}${extra.length}`),
          ...extra,
        ],
        { encoding: 'utf8' },
      );
    const plain = run('plain.pt');
    assert.equal(plain.status, 0, plain.stderr);
    const refused = run('pickled.pt');
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /pickled\.pt holds more than tensors .*runs code stored in the file .*--trust-checkpoint/s);
    assert.ok(!existsSync(path.join(dir, 'out-pickled.pt0', 'cfg.json')), 'nothing written');
    const trusted = run('pickled.pt', '--trust-checkpoint');
    assert.equal(trusted.status, 0, trusted.stderr);
    assert.ok(existsSync(path.join(dir, 'out-pickled.pt1', 'cfg.json')));
  });

  it("refuses un-folded computations on weights, but not Identity copies of a weight (torch shares a ViT's equal LayerNorm weights so)", () => {
    const r = py(
      `import json, numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T
from common import constant_subgraph_nodes
w = nh.from_array(np.ones((4, 4), np.float32), 'w')
def graph(extra):
    nodes = extra + [h.make_node('MatMul', ['x', 'w2'], ['y'])]
    g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.FLOAT, [1, 4])], [h.make_tensor_value_info('y', T.FLOAT, [1, 4])], [w])
    return constant_subgraph_nodes(h.make_model(g))
print(json.dumps([graph([h.make_node('Identity', ['w'], ['w2'], name='copy')]), graph([h.make_node('Mul', ['w', 'w'], ['w2'], name='square')])]))`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), [[], ['Mul square']]);
  });

  it('cross-checks a raw export with an empty LayerNorm bias in onnxruntime (normalised first, no crash)', async () => {
    const model = path.join(fixtures, 'patterns', 'ln2d', 'model.onnx');
    const g = await golden('patterns/ln2d/golden.safetensors');
    const dir = tempDir();
    const r = py(
      `import sys, numpy as np, json
from common import ort_run, read_safetensors
t, _ = read_safetensors(sys.argv[2])
out = ort_run(sys.argv[1], t['image'])
if out is None: sys.exit(3)
np.save(sys.argv[3], out['logits'])
print(json.dumps(out['logits'].reshape(-1).tolist()))`,
      model,
      path.join(fixtures, 'patterns', 'ln2d', 'golden.safetensors'),
      path.join(dir, 'logits.npy'),
    );
    if (r.status === 3) return; // onnxruntime-node not found by the recipe: nothing to cross-check
    assert.equal(r.status, 0, r.stderr);
    const logits = Float32Array.from(JSON.parse(r.stdout.trim().split('\n').pop()!));
    assert.ok(relErr(logits, f32(g, 'logits')) <= 1e-4);
  });
});
