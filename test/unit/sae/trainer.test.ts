import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { cancelledError, isFactError } from '../../../src/core/errors';
import { loadSae } from '../../../src/core/sae/checkpoint';
import { checkpointFiles } from '../../../src/core/sae/saeFolder';
import type { SaeWeights, TrainSettingsInput } from '../../../src/core/sae/saeConfig';
import { topkEncode } from '../../../src/core/sae/saeEncoder';
import { trainSae, type TrainProgress } from '../../../src/core/sae/trainer';
import { tempDir } from '../../support/paths';
import { bestCosines, syntheticFeatures } from './syntheticFeatures';

describe('SAE training', () => {
  it('lowers the loss on synthetic sparse data and recovers the hidden directions', async () => {
    const dim = 32, hidden = 24, dictSize = 48;
    const { source, directions } = syntheticFeatures({ dim, directions: hidden, perVector: 3, count: 8192, seed: 5, scale: 7 });
    const reports: TrainProgress[] = [];
    const dir = tempDir('fact-sae-');
    const result = await trainSae(source, { k: 3, dictSize, layer: 'layer4', modelSha256: 'abc', lr: 1e-2, epochs: 8, batchSize: 256 }, {
      checkpointDir: dir, progressIntervalMs: 0, onProgress: (p) => reports.push(p),
    });
    assert.equal(result.steps, 8 * 32);
    const first = reports[0]!, last = reports.at(-1)!;
    assert.ok(last.loss < 0.2 * first.loss, `loss ${first.loss} → ${last.loss}`);
    assert.ok(last.fvu < 0.1, `FVU ${last.fvu}`);
    assert.equal(last.l0, 3);
    assert.deepEqual([last.step, last.totalSteps, last.epoch, last.batchInEpoch], [256, 256, 7, 31]);
    assert.ok(last.vectorsPerSecond > 0 && last.etaSeconds === 0);
    // The input scale is sqrt(E‖z‖²); the synthetic vectors have norms around 7·sqrt(3).
    assert.ok(result.weights.cfg.inputScale > 7 && result.weights.cfg.inputScale < 20, `scale ${result.weights.cfg.inputScale}`);
    const cos = bestCosines(directions, result.weights.wDec, dim, dictSize);
    const recovered = cos.filter((c) => c > 0.9).length;
    assert.ok(recovered >= 0.9 * hidden, `${recovered} of ${hidden} directions recovered (cosines ${cos.map((c) => c.toFixed(2)).join(' ')})`);
    // The checkpoint on disk is the final SAE, and the training state is gone.
    const loaded = await loadSae(dir, { modelSha256: 'abc', layer: 'layer4', dModel: dim });
    assert.deepEqual(loaded.wDec, result.weights.wDec);
    assert.equal(loaded.checkpoint.training?.steps, 256);
    assert.ok(!existsSync(path.join(dir, checkpointFiles.trainStateJson)));
  });

  it('resumes after being cancelled (mid-epoch and during validation) and ends with exactly the weights of an uninterrupted run', async () => {
    const dim = 16, dictSize = 64;
    const { source } = syntheticFeatures({ dim, directions: 20, perVector: 2, count: 2048, seed: 9 });
    const heldOut = syntheticFeatures({ dim, directions: 20, perVector: 2, count: 64, seed: 9 }).source.data;
    // Validation score: minus the reconstruction error on held-out vectors (so "best" is a real choice).
    const validate = async (w: SaeWeights) => {
      const codes = topkEncode(w, heldOut, 64);
      let err = 0;
      for (let i = 0; i < heldOut.length; i++) err += (heldOut[i]! - codes.reconstruction[i]!) ** 2;
      return -err;
    };
    const settings: TrainSettingsInput = { k: 2, dictSize, layer: 'l', modelSha256: 's', lr: 5e-3, epochs: 4, batchSize: 128, deadAfterVectors: 256, validateEvery: 1, seed: 3 };
    let usedAux = false;
    const watch = (p: TrainProgress) => { usedAux ||= p.auxLoss > 0; };

    const straightDir = tempDir('fact-sae-');
    const straight = await trainSae(source, settings, { checkpointDir: straightDir, validate, progressIntervalMs: 0, onProgress: watch });
    assert.ok(usedAux, 'the run had dead latents, so the AuxK graph was used');

    // Cancelled mid-epoch (step 10), inside the validation after epoch 2 (step 32), and mid-epoch again (step 37).
    const dir = tempDir('fact-sae-');
    for (const stopAt of [10, 'validation', 37] as const) {
      const ac = new AbortController();
      let validations = 0;
      const cancellingValidate = async (w: SaeWeights) => {
        if (stopAt === 'validation' && ++validations === 2) {
          ac.abort();
          throw cancelledError();
        }
        return validate(w);
      };
      await assert.rejects(
        trainSae(source, settings, { checkpointDir: dir, validate: cancellingValidate, resume: true, signal: ac.signal, progressIntervalMs: 0, onProgress: (p) => { if (p.step === stopAt) ac.abort(); } }),
        (e: unknown) => isFactError(e) && e.code === 'cancelled' && e.details.step === (stopAt === 'validation' ? 32 : stopAt),
      );
      assert.ok(existsSync(path.join(dir, checkpointFiles.trainStateJson)));
    }
    const resumed = await trainSae(source, settings, { checkpointDir: dir, validate, resume: true });
    assert.ok(resumed.resumed);
    assert.equal(resumed.steps, straight.steps);
    assert.deepEqual(resumed.weights.wEnc, straight.weights.wEnc);
    assert.deepEqual(resumed.weights.wDec, straight.weights.wDec);
    assert.deepEqual(resumed.best, straight.best);
    const [a, b] = [await loadSae(straightDir), await loadSae(dir)];
    assert.deepEqual(a.wEnc, b.wEnc);
    assert.equal(a.checkpoint.metrics?.validation, straight.best!.score);

    // Resuming with other settings is refused with the difference named (first leave a state behind: cancel a new run).
    const ac = new AbortController();
    await assert.rejects(trainSae(source, settings, { checkpointDir: dir, resume: true, signal: ac.signal, progressIntervalMs: 0, onProgress: () => ac.abort() }));
    await assert.rejects(trainSae(source, { ...settings, lr: 1e-3 }, { checkpointDir: dir, resume: true }), /lr: 0\.005 → 0\.001/);
  });

  it('keeps the best-validated weights in the checkpoint, not the last ones', async () => {
    const dim = 8, dictSize = 16;
    const { source } = syntheticFeatures({ dim, directions: 6, perVector: 2, count: 512, seed: 2 });
    const scores = [1, 3, 2];
    const seen: Float32Array[] = [];
    const dir = tempDir('fact-sae-');
    const result = await trainSae(source, { k: 2, dictSize, layer: 'l', modelSha256: 's', lr: 1e-2, epochs: 3, batchSize: 64, validateEvery: 1 }, {
      checkpointDir: dir,
      validate: async (w) => {
        seen.push(w.wDec.slice());
        return scores[seen.length - 1]!;
      },
    });
    assert.deepEqual(result.best, { score: 3, epoch: 2, step: 16 });
    const saved = await loadSae(dir);
    assert.deepEqual(saved.wDec, seen[1]);
    assert.notDeepEqual(saved.wDec, result.weights.wDec);
    assert.equal(saved.checkpoint.metrics?.validation, 3);
    assert.equal(saved.checkpoint.training?.steps, 24);
  });

  it('refuses a source with less than one batch', async () => {
    const { source } = syntheticFeatures({ dim: 4, directions: 3, perVector: 1, count: 10, seed: 1 });
    await assert.rejects(trainSae(source, { k: 1, dictSize: 8, layer: 'l', modelSha256: 's', batchSize: 16 }, { checkpointDir: tempDir() }), /at least one batch of 16 vectors/);
  });
});
