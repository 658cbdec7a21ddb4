import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { cancelledError, isFactError } from '../../../src/core/errors';
import { loadSae, loadTrainState } from '../../../src/core/sae/checkpoint';
import { checkpointFiles } from '../../../src/core/sae/saeFolder';
import { initialState } from '../../../src/core/sae/initialWeights';
import { resolveTrainSettings } from '../../../src/core/sae/saeConfig';
import { onnxruntimeVersion } from '../../../src/core/onnx/session';
import { sha256Hex } from '../../../src/core/util/sha256';
import type { SaeWeights, TrainSettingsInput } from '../../../src/core/sae/saeConfig';
import { topkEncode } from '../../../src/core/sae/saeEncoder';
import { isSelected, trainSae, type TrainProgress } from '../../../src/core/sae/trainer';
import { tempDir } from '../../support/paths';
import { bestCosines, syntheticFeatures } from './syntheticFeatures';

describe('SAE training', () => {
  it('plans the schedule from the batches the source yields, using every vector (a count that is not a multiple of the batch)', async () => {
    const { source } = syntheticFeatures({ dim: 8, directions: 6, perVector: 2, count: 100, seed: 2, scale: 3 });
    assert.equal(source.batchCount(16), 7, '6 batches of 16 and one of 4');
    assert.equal(source.batchCount(33), 3, 'a remainder of one vector joins the last batch');
    const reports: TrainProgress[] = [];
    const result = await trainSae(
      source,
      { k: 2, dictSize: 12, layer: 'l', modelSha256: 's', epochs: 3, batchSize: 16 },
      {
        checkpointDir: tempDir('fact-sae-'),
        progressIntervalMs: 0,
        onProgress: (p) => reports.push(p),
      },
    );
    assert.equal(result.steps, 3 * 7);
    assert.deepEqual([reports.at(-1)!.step, reports.at(-1)!.totalSteps], [21, 21]);
  });

  it('lowers the loss on synthetic sparse data and recovers the hidden directions', async () => {
    const dim = 32,
      hidden = 24,
      dictSize = 48;
    const { source, directions } = syntheticFeatures({ dim, directions: hidden, perVector: 3, count: 8192, seed: 5, scale: 7 });
    const reports: TrainProgress[] = [];
    const dir = tempDir('fact-sae-');
    const result = await trainSae(
      source,
      { k: 3, dictSize, layer: 'layer4', modelSha256: 'abc', lr: 1e-2, epochs: 8, batchSize: 256 },
      {
        checkpointDir: dir,
        progressIntervalMs: 0,
        onProgress: (p) => reports.push(p),
      },
    );
    assert.equal(result.steps, 8 * 32);
    const first = reports[0]!,
      last = reports.at(-1)!;
    assert.ok(last.loss < 0.2 * first.loss, `loss ${first.loss} → ${last.loss}`);
    assert.ok(last.fvu < 0.1, `FVU ${last.fvu}`);
    assert.equal(last.l0, 3);
    assert.deepEqual([last.step, last.totalSteps, last.epoch, last.batchInEpoch], [256, 256, 7, 31]);
    assert.ok(last.vectorsPerSecond > 0 && last.etaSeconds === 0);
    // The input scale is sqrt(E‖z‖²); the synthetic vectors have norms around 7·sqrt(3).
    assert.ok(result.weights.cfg.inputScale > 7 && result.weights.cfg.inputScale < 20, `scale ${result.weights.cfg.inputScale}`);
    const cos = bestCosines(directions, result.weights.wDec, dim, dictSize);
    const recovered = cos.filter((c) => c > 0.9).length;
    assert.ok(
      recovered >= 0.9 * hidden,
      `${recovered} of ${hidden} directions recovered (cosines ${cos.map((c) => c.toFixed(2)).join(' ')})`,
    );
    // The checkpoint on disk is the final SAE, and the training state is gone.
    const loaded = await loadSae(dir, { modelSha256: 'abc', layer: 'layer4', dModel: dim });
    assert.deepEqual(loaded.wDec, result.weights.wDec);
    assert.equal(loaded.checkpoint.training?.steps, 256);
    assert.ok(!existsSync(path.join(dir, checkpointFiles.trainStateJson)));
  });

  it('resumes after being cancelled (mid-epoch and during validation) and ends with exactly the weights of an uninterrupted run', async () => {
    const dim = 16,
      dictSize = 64;
    const { source } = syntheticFeatures({ dim, directions: 20, perVector: 2, count: 2048, seed: 9 });
    const heldOut = syntheticFeatures({ dim, directions: 20, perVector: 2, count: 64, seed: 9 }).source.data;
    // Validation score: minus the reconstruction error on held-out vectors (so "best" is a real choice).
    const validate = async (w: SaeWeights) => {
      const codes = topkEncode(w, heldOut, 64);
      let err = 0;
      for (let i = 0; i < heldOut.length; i++) err += (heldOut[i]! - codes.reconstruction[i]!) ** 2;
      return -err;
    };
    const settings: TrainSettingsInput = {
      k: 2,
      dictSize,
      layer: 'l',
      modelSha256: 's',
      lr: 5e-3,
      epochs: 4,
      batchSize: 128,
      deadAfterVectors: 256,
      validateEvery: 1,
      seed: 3,
    };
    let usedAux = false;
    const watch = (p: TrainProgress) => {
      usedAux ||= p.auxLoss > 0;
    };

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
        trainSae(source, settings, {
          checkpointDir: dir,
          validate: cancellingValidate,
          resume: true,
          signal: ac.signal,
          progressIntervalMs: 0,
          onProgress: (p) => {
            if (p.step === stopAt) ac.abort();
          },
        }),
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
    assert.deepEqual(resumed.finalMetrics, straight.finalMetrics, "the last epoch's metrics survive the cancels");
    assert.deepEqual(resumed.validations, straight.validations);
    const [a, b] = [await loadSae(straightDir), await loadSae(dir)];
    assert.deepEqual(a.wEnc, b.wEnc);
    assert.equal(a.checkpoint.metrics?.validation, straight.best!.score);

    // Resuming with other settings is refused with the difference named (first leave a state behind: cancel a new run).
    const ac = new AbortController();
    await assert.rejects(
      trainSae(source, settings, {
        checkpointDir: dir,
        resume: true,
        signal: ac.signal,
        progressIntervalMs: 0,
        onProgress: () => ac.abort(),
      }),
    );
    await assert.rejects(trainSae(source, { ...settings, lr: 1e-3 }, { checkpointDir: dir, resume: true }), /lr: 0\.005 → 0\.001/);
  });

  it('keeps the best-validated weights in the checkpoint, not the last ones', async () => {
    const dim = 8,
      dictSize = 16;
    const { source } = syntheticFeatures({ dim, directions: 6, perVector: 2, count: 512, seed: 2 });
    const scores = [1, 3, 2];
    const seen: Float32Array[] = [];
    const dir = tempDir('fact-sae-');
    const result = await trainSae(
      source,
      { k: 2, dictSize, layer: 'l', modelSha256: 's', lr: 1e-2, epochs: 3, batchSize: 64, validateEvery: 1 },
      {
        checkpointDir: dir,
        validate: async (w) => {
          seen.push(w.wDec.slice());
          return scores[seen.length - 1]!;
        },
      },
    );
    assert.deepEqual(result.best, { score: 3, epoch: 2, step: 16 });
    const saved = await loadSae(dir);
    assert.deepEqual(saved.wDec, seen[1]);
    assert.notDeepEqual(saved.wDec, result.weights.wDec);
    assert.equal(saved.checkpoint.metrics?.validation, 3);
    assert.equal(saved.checkpoint.training?.steps, 24);
  });

  it('gives byte-identical checkpoints for the same seed and thread count (1 and 2 threads), and records both', async () => {
    const { source } = syntheticFeatures({ dim: 32, directions: 40, perVector: 4, count: 4096, seed: 4 });
    const settings: TrainSettingsInput = {
      k: 4,
      dictSize: 128,
      layer: 'l',
      modelSha256: 's',
      lr: 5e-3,
      epochs: 2,
      batchSize: 512,
      deadAfterVectors: 1024,
      seed: 8,
    };
    for (const threads of [1, 2]) {
      const hashes: string[] = [];
      for (let run = 0; run < 2; run++) {
        const dir = tempDir('fact-sae-');
        const r = await trainSae(source, settings, { checkpointDir: dir, threads });
        assert.equal(r.threads, threads);
        hashes.push(sha256Hex(readFileSync(path.join(dir, checkpointFiles.weights))));
        const cfg = JSON.parse(readFileSync(path.join(dir, checkpointFiles.cfg), 'utf8'));
        assert.equal(cfg.training.threads, threads);
        assert.equal(cfg.training.onnxruntime, onnxruntimeVersion);
      }
      if (process.env.SAE_TEST_VERBOSE) console.log(`${threads} threads: ${hashes.join(' ')}`);
      assert.equal(hashes[0], hashes[1], `${threads} threads: two runs, two different checkpoints`);
    }
  });

  it("records the last epoch's metrics in cfg.json, whatever the progress reports did", async () => {
    const { source } = syntheticFeatures({ dim: 16, directions: 12, perVector: 2, count: 2048, seed: 6 });
    const settings: TrainSettingsInput = { k: 2, dictSize: 32, layer: 'l', modelSha256: 's', lr: 1e-2, epochs: 3, batchSize: 256 };
    const steps: TrainProgress[] = [];
    const dir = tempDir('fact-sae-');
    // Reports every step (each report is then one step's metrics), and one that never reports at all.
    const r = await trainSae(source, settings, {
      checkpointDir: dir,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (p.validation === undefined) steps.push(p);
      },
    });
    const quiet = await trainSae(source, settings, { checkpointDir: tempDir('fact-sae-'), progressIntervalMs: 1e9 });
    assert.deepEqual(quiet.finalMetrics, r.finalMetrics);
    const lastEpoch = steps.filter((p) => p.epoch === 2);
    assert.equal(r.finalMetrics.steps, 8);
    assert.equal(lastEpoch.length, 8);
    const mean = (f: (p: TrainProgress) => number) => lastEpoch.reduce((a, p) => a + f(p), 0) / lastEpoch.length;
    assert.ok(Math.abs(r.finalMetrics.loss - mean((p) => p.loss)) <= 1e-9 * r.finalMetrics.loss);
    assert.ok(Math.abs(r.finalMetrics.l0 - mean((p) => p.l0)) <= 1e-9);
    assert.ok(r.finalMetrics.fvu > 0 && r.finalMetrics.fvu < 1 && r.finalMetrics.loss > 0);
    const cfg = JSON.parse(readFileSync(path.join(dir, checkpointFiles.cfg), 'utf8'));
    assert.equal(cfg.metrics.fvu, Math.round(r.finalMetrics.fvu * 1e4) / 1e4);
    assert.equal(cfg.metrics.l0, 2);
    assert.ok(cfg.metrics.loss > 0);
  });

  it("keeps the latest validated epoch within the best score's tolerance, and records every validation", async () => {
    const entry = (epoch: number, score: number, tolerance = 0) => ({ epoch, step: epoch * 10, score, tolerance });
    assert.ok(isSelected([entry(1, 0.9), entry(2, 0.9)]), 'a tie goes to the later epoch');
    assert.ok(!isSelected([entry(1, 0.9), entry(2, 0.89)]));
    assert.ok(isSelected([entry(1, 0.9, 0.005), entry(2, 0.896, 0.005)]), 'within one standard error of the best');
    assert.ok(!isSelected([entry(1, 0.9, 0.005), entry(2, 0.894, 0.005)]));
    assert.ok(isSelected([entry(1, 0.9, 0.005), entry(2, 0.8, 0.005), entry(3, 0.95, 0.005)]));

    const { source } = syntheticFeatures({ dim: 8, directions: 6, perVector: 2, count: 512, seed: 2 });
    const scores = [0.9, 0.93, 0.925, 0.91];
    const seen: Float32Array[] = [];
    const dir = tempDir('fact-sae-');
    const result = await trainSae(
      source,
      { k: 2, dictSize: 16, layer: 'l', modelSha256: 's', lr: 1e-2, epochs: 4, batchSize: 64, validateEvery: 1 },
      {
        checkpointDir: dir,
        validate: async (w) => {
          seen.push(w.wDec.slice());
          return { score: scores[seen.length - 1]!, tolerance: 0.006 };
        },
      },
    );
    // Epoch 3 (0.925) is within 0.006 of the best (0.93, epoch 2) and later; epoch 4 (0.91) is not.
    assert.deepEqual(result.best, { score: 0.925, epoch: 3, step: 24 });
    assert.deepEqual((await loadSae(dir)).wDec, seen[2]);
    const cfg = JSON.parse(readFileSync(path.join(dir, checkpointFiles.cfg), 'utf8'));
    assert.deepEqual(
      cfg.validation.history.map((v: { epoch: number; score: number }) => [v.epoch, v.score]),
      [
        [1, 0.9],
        [2, 0.93],
        [3, 0.925],
        [4, 0.91],
      ],
    );
    assert.equal(cfg.validation.tolerance, 0.006);
    assert.match(cfg.validation.rule, /latest epoch within tolerance/);
    assert.equal(cfg.metrics.bestEpoch, 3);
  });

  it('saves its state every stateIntervalMs, so a crash loses at most that much; the resumed run equals an uninterrupted one', async () => {
    const { source } = syntheticFeatures({ dim: 16, directions: 12, perVector: 2, count: 2048, seed: 7 });
    const settings: TrainSettingsInput = { k: 2, dictSize: 32, layer: 'l', modelSha256: 's', lr: 1e-2, epochs: 2, batchSize: 128, seed: 1 };
    const straight = await trainSae(source, settings, { checkpointDir: tempDir('fact-sae-') });
    const crash = (at: number) => (p: TrainProgress) => {
      if (p.step === at) throw new Error('simulated crash (no state saved on the way out)');
    };
    // With a zero interval the state is saved after every step: a crash at step 11 resumes from step 10.
    const dir = tempDir('fact-sae-');
    await assert.rejects(
      trainSae(source, settings, { checkpointDir: dir, stateIntervalMs: 0, progressIntervalMs: 0, onProgress: crash(11) }),
      /simulated crash/,
    );
    const saved = await loadTrainState(dir);
    assert.deepEqual([saved.params.step, saved.epoch, saved.batch], [10, 0, 10]);
    const resumed = await trainSae(source, settings, { checkpointDir: dir, resume: true });
    assert.ok(resumed.resumed);
    assert.deepEqual(resumed.weights.wEnc, straight.weights.wEnc);
    assert.deepEqual(resumed.weights.wDec, straight.weights.wDec);
    assert.deepEqual(resumed.finalMetrics, straight.finalMetrics);
    // With a long interval only epoch ends save: the same crash leaves nothing before epoch 1; in epoch 2, its start.
    const slow = tempDir('fact-sae-');
    await assert.rejects(
      trainSae(source, settings, { checkpointDir: slow, stateIntervalMs: 1e9, progressIntervalMs: 0, onProgress: crash(20) }),
      /simulated crash/,
    );
    const atEpoch = await loadTrainState(slow);
    assert.deepEqual([atEpoch.params.step, atEpoch.epoch, atEpoch.batch], [16, 1, 0]);
  });

  it('starts from FaCT\'s initialisation with init "fact": unit columns, encoder = decoderᵀ, cube-leaning directions', () => {
    const d = 64,
      K = 512;
    const moments = (w: Float32Array) => {
      let m2 = 0,
        m4 = 0;
      for (const v of w) {
        m2 += v * v;
        m4 += v ** 4;
      }
      return m4 / w.length / (m2 / w.length) ** 2; // kurtosis of the entries: 3 Gaussian-like, 1.8 uniform
    };
    for (const init of ['isotropic', 'fact'] as const) {
      const s = initialState(d, K, 5, init);
      for (let j = 0; j < K; j++) {
        let norm = 0;
        for (let p = 0; p < d; p++) {
          norm += s.wDec[p * K + j]! ** 2;
          assert.equal(s.wEnc[j * d + p], s.wDec[p * K + j]);
        }
        assert.ok(Math.abs(norm - 1) < 1e-5);
      }
      const kurtosis = moments(s.wDec);
      assert.ok(init === 'fact' ? Math.abs(kurtosis - 1.8) < 0.1 : Math.abs(kurtosis - 3) < 0.2, `${init}: kurtosis ${kurtosis}`);
    }
    assert.throws(
      () => resolveTrainSettings({ k: 1, dictSize: 4, layer: 'l', modelSha256: 's', init: 'xavier' as 'fact' }),
      /"init" must be 'isotropic' or 'fact'/,
    );
  });

  it('refuses a source with less than one batch', async () => {
    const { source } = syntheticFeatures({ dim: 4, directions: 3, perVector: 1, count: 10, seed: 1 });
    await assert.rejects(
      trainSae(source, { k: 1, dictSize: 8, layer: 'l', modelSha256: 's', batchSize: 16 }, { checkpointDir: tempDir() }),
      /at least one batch of 16 vectors/,
    );
  });
});
