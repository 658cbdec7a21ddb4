// A FaCT-format SAE checkpoint converted by models/recipes/export.py loads in the app, and the app's encoder
// reproduces PyTorch's forward pass of it (codes u and reconstruction x̂) on the default model's layer4 features.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadSae } from '../../../src/core/sae/checkpoint';
import { SaeEncoder } from '../../../src/core/sae/saeEncoder';
import { sha256Hex } from '../../../src/core/util/sha256';
import { readFileSync } from 'node:fs';
import { defaultModelDir, fixtures } from '../../support/paths';
import { f32, golden, relErr } from './goldenSupport';

describe('a converted FaCT SAE checkpoint', () => {
  it('loads for the default model and encodes as PyTorch does', async () => {
    const dir = path.join(fixtures, 'fashion-mnist-bcos', 'sae-layer4');
    const sha = sha256Hex(readFileSync(path.join(defaultModelDir, 'model.onnx')));
    const sae = await loadSae(dir, { modelSha256: sha, layer: 'layer4' });
    assert.deepEqual([sae.cfg.k, sae.cfg.dictSize, sae.cfg.dModel], [8, 256, 128]);
    const g = await golden('fashion-mnist-bcos/sae-layer4/sae-golden.safetensors');
    const x = f32(g, 'x');
    const encoder = await SaeEncoder.create(sae);
    const codes = await encoder.encode(x, 49);
    await encoder.dispose();
    const u = new Float32Array(49 * 256);
    for (let r = 0; r < 49; r++) for (let j = 0; j < 8; j++) u[r * 256 + codes.indices[r * 8 + j]!] = codes.values[r * 8 + j]!;
    assert.ok(relErr(u, f32(g, 'u')) <= 1e-5, `codes ${relErr(u, f32(g, 'u'))}`);
    assert.ok(relErr(codes.reconstruction, f32(g, 'xhat')) <= 1e-5, 'reconstruction');
    await assert.rejects(loadSae(dir, { modelSha256: 'f'.repeat(64) }), /was trained on another model/);
  });
});
