import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { isFactError, type FactErrorCode } from '../../../src/core/errors';
import { readSafetensors, writeSafetensors } from '../../../src/core/util/safetensors';
import { loadSae, loadTrainState, saveSae, saveTrainState, tensorNames } from '../../../src/core/sae/checkpoint';
import { checkpointFiles } from '../../../src/core/sae/saeFolder';
import { initialState } from '../../../src/core/sae/initialWeights';
import { resolveTrainSettings, type SaeWeights } from '../../../src/core/sae/saeConfig';
import { tempDir } from '../../support/paths';

const d = 8,
  K = 32;
const sha = 'f'.repeat(64);

function sae(): SaeWeights {
  const s = initialState(d, K, 7);
  return { cfg: { k: 4, dictSize: K, dModel: d, layer: 'layer3', modelSha256: sha, inputScale: 2.5 }, wEnc: s.wEnc, wDec: s.wDec };
}

async function savedDir(): Promise<string> {
  const dir = tempDir('fact-ckpt-');
  await saveSae(dir, sae(), { training: { lr: 1e-3, steps: 10 }, metrics: { fvu: 0.1 } });
  return dir;
}

function rejectsWith(code: FactErrorCode, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(isFactError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

function editCfg(dir: string, edit: (cfg: Record<string, unknown>) => void): void {
  const file = path.join(dir, checkpointFiles.cfg);
  const cfg = JSON.parse(readFileSync(file, 'utf8'));
  edit(cfg);
  writeFileSync(file, JSON.stringify(cfg));
}

describe('SAE checkpoints', () => {
  it('round-trip: FaCT tensor names and layouts, cfg.json with the SAE, its training and metrics', async () => {
    const dir = await savedDir();
    const loaded = await loadSae(dir, { modelSha256: sha, layer: 'layer3', dModel: d });
    const original = sae();
    assert.deepEqual(loaded.cfg, original.cfg);
    assert.deepEqual(loaded.wEnc, original.wEnc);
    assert.deepEqual(loaded.wDec, original.wDec);
    assert.equal(loaded.checkpoint.architecture, 'bias-free-topk');
    assert.equal(loaded.checkpoint.training?.steps, 10);
    assert.equal(loaded.checkpoint.metrics?.fvu, 0.1);
    const file = await readSafetensors(path.join(dir, checkpointFiles.weights));
    assert.deepEqual(file.tensors[tensorNames.encoder]!.shape, [K, d]);
    assert.deepEqual(file.tensors[tensorNames.decoder]!.shape, [d, K]);
    assert.equal(file.tensors[tensorNames.decoder]!.dtype, 'F32');
  });

  it('names a missing file', async () => {
    const dir = await savedDir();
    rmSync(path.join(dir, checkpointFiles.weights));
    await assert.rejects(loadSae(dir), rejectsWith('file-missing', /sae\.safetensors/));
    await assert.rejects(loadSae(tempDir()), rejectsWith('file-missing', /cfg\.json/));
  });

  it('names a truncated file', async () => {
    const dir = await savedDir();
    const weights = path.join(dir, checkpointFiles.weights);
    writeFileSync(weights, readFileSync(weights).subarray(0, 500));
    await assert.rejects(loadSae(dir), rejectsWith('bad-input', /sae\.safetensors.*truncated/));
    const cfg = path.join(dir, checkpointFiles.cfg);
    writeFileSync(cfg, readFileSync(cfg).subarray(0, 40));
    await assert.rejects(loadSae(dir), rejectsWith('bad-card', /cfg\.json.*not valid JSON/));
  });

  it('refuses tensors whose shapes disagree with cfg.json', async () => {
    const dir = await savedDir();
    editCfg(dir, (c) => {
      c.dictSize = 16;
    });
    await assert.rejects(loadSae(dir), rejectsWith('bad-input', /encoder\.weight.*\[32, 8\].*\[16, 8\]/));
    const dir2 = await savedDir();
    const s = sae();
    await writeSafetensors(path.join(dir2, checkpointFiles.weights), {
      [tensorNames.encoder]: { shape: [K, d], data: s.wEnc },
      [tensorNames.decoder]: { shape: [K, d], data: s.wDec },
    });
    await assert.rejects(loadSae(dir2), rejectsWith('bad-input', /decoder\.weight.*\[32, 8\].*\[8, 32\]/));
  });

  it('refuses k larger than the dictionary', async () => {
    const dir = await savedDir();
    editCfg(dir, (c) => {
      c.k = 40;
    });
    await assert.rejects(loadSae(dir), rejectsWith('bad-card', /k = 40 is larger than the dictionary \(32 latents\)/));
  });

  it('refuses a checkpoint made for another model or another layer, saying which', async () => {
    const dir = await savedDir();
    await assert.rejects(
      loadSae(dir, { modelSha256: 'a'.repeat(64) }),
      rejectsWith('bad-input', /another model.*ffffffffffff.*aaaaaaaaaaaa/),
    );
    await assert.rejects(loadSae(dir, { layer: 'layer4' }), rejectsWith('bad-layer', /layer 'layer3', not 'layer4'/));
    await assert.rejects(loadSae(dir, { dModel: 16 }), rejectsWith('bad-layer', /8-channel features.*16 channels/));
  });

  it('saves and restores a training state, survives a kill between its two writes, and detects an old half-written one', async () => {
    const dir = tempDir('fact-ckpt-');
    const settings = resolveTrainSettings({ k: 4, dictSize: K, layer: 'l', modelSha256: sha });
    const params = { ...initialState(d, K, 3), step: 17 };
    const sinceFired = Float64Array.from({ length: K }, (_, j) => j * 1000);
    await saveTrainState(dir, {
      settings,
      dModel: d,
      sourceCount: 5000,
      inputScale: 1.5,
      params,
      sinceFired,
      epoch: 2,
      batch: 5,
      seconds: 12,
      best: { score: 0.5, epoch: 2, step: 16 },
    });
    const st = await loadTrainState(dir);
    assert.deepEqual(st.params, params);
    assert.deepEqual(st.sinceFired, sinceFired);
    assert.deepEqual(
      { ...st, params: undefined, sinceFired: undefined },
      {
        settings,
        dModel: d,
        sourceCount: 5000,
        inputScale: 1.5,
        params: undefined,
        sinceFired: undefined,
        epoch: 2,
        batch: 5,
        seconds: 12,
        best: { score: 0.5, epoch: 2, step: 16 },
      },
    );
    // A kill after the tensors file (which carries the whole state) but before the JSON: the tensors file wins.
    const json = path.join(dir, checkpointFiles.trainStateJson);
    writeFileSync(json, readFileSync(json, 'utf8').replace('"step": 17', '"step": 16').replace('"batch": 5', '"batch": 4'));
    const afterKill = await loadTrainState(dir);
    assert.deepEqual([afterKill.params.step, afterKill.batch], [17, 5]);
    // A tensors file from before the state was embedded must agree with its JSON.
    const tensorsFile = path.join(dir, checkpointFiles.trainState);
    const old = await readSafetensors(tensorsFile);
    await writeSafetensors(
      tensorsFile,
      Object.fromEntries(Object.entries(old.tensors).map(([n, t]) => [n, { shape: t.shape, data: t.data as Float32Array }])),
      { step: '17' },
    );
    await assert.rejects(loadTrainState(dir), rejectsWith('bad-input', /step 17.*step 16.*not saved completely/));
  });
});
