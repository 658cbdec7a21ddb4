import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { atlasConcept, buildAtlas } from '../../../src/core/concepts/atlas';
import { presenceTraces, presenceTracesOfImages } from '../../../src/core/concepts/presenceTraces';
import { cropAroundMass } from '../../../src/core/concepts/traceCrop';
import { layerLayout } from '../../../src/core/evaluate/layerLayout';
import { resolveModelLayer } from '../../../src/core/model/modelLayers';
import { openImageFolder } from '../../../src/core/data/imageFolder';
import { Explainer } from '../../../src/core/engine/explainer';
import { evaluateSae } from '../../../src/core/evaluate/evaluate';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { decodeImageFile } from '../../../src/core/data/imageDecode';
import { preprocessImage } from '../../../src/core/data/preprocess';
import { toVectors } from '../../../src/core/evaluate/layerLayout';
import { loadSae } from '../../../src/core/sae/checkpoint';
import { SaeEncoder } from '../../../src/core/sae/saeEncoder';
import { naiveEncoder, randomSae } from '../../support/naiveSae';
import { fixtures, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');
const defaultModel = path.join(__dirname, '..', '..', '..', 'models', 'fashion-mnist-bcos');

describe('the concept atlas', () => {
  it('holds per-concept statistics and top images with traces, each with its strip of inputs over traces', async () => {
    const root = tempDir('fact-atlas-ds-');
    for (let i = 0; i < 20; i++) {
      const dir = path.join(root, ['circle', 'square', 'triangle'][i % 3]!);
      mkdirSync(dir, { recursive: true });
      await sharp(
        Uint8Array.from({ length: 64 }, (_, p) => (p * (i + 3) * 29 + i) % 256),
        { raw: { width: 8, height: 8, channels: 1 } },
      )
        .png()
        .toFile(path.join(dir, `${i}.png`));
    }
    const ds = await openImageFolder(root, 'grayscale');
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = randomSae(8, 24, 3, 6);
    const { records } = await evaluateSae(ctx, runner, explainer, {
      layer: 'layer2',
      dataset: ds,
      sae,
      encode: naiveEncoder(sae),
      keepRecords: true,
    });
    const strips = new Map<string, Uint8Array>();
    const writer = {
      begin: async () => undefined,
      strip: async (name: string, png: Uint8Array) => {
        strips.set(name, png);
      },
      index: async () => undefined,
    };
    const atlas = await buildAtlas(ctx, runner, explainer, {
      writer,
      checkpointSha256: 'a'.repeat(64),
      evaluationSha256: 'b'.repeat(64),
      sae,
      encode: naiveEncoder(sae),
      records: records!,
      dataset: ds,
      topImages: 4,
    });
    assert.equal(atlas.concepts.length, 24);
    const r = records!;
    for (const c of atlas.concepts) {
      let count = 0;
      for (let i = 0; i < 20; i++) for (let t = r.indptr[i]!; t < r.indptr[i + 1]!; t++) if (r.concept[t] === c.concept) count++;
      assert.equal(c.images, count);
      assert.ok(Math.abs(c.frequency - count / 20) < 1e-12);
      assert.equal(c.top.length, Math.min(4, count));
      for (let i = 1; i < c.top.length; i++) assert.ok(c.top[i - 1]!.presence >= c.top[i]!.presence);
      if (c.strip) {
        const meta = await sharp(strips.get(c.strip)!).metadata();
        assert.deepEqual([meta.width, meta.height], [atlas.cell * c.top.length, 2 * atlas.cell]);
      }
    }
    assert.throws(() => atlasConcept(atlas, 24), /Concept 24 is out of range: this SAE has concepts 0–23/);
    await runner.dispose();
    await explainer.dispose();
  });

  it('traces many images in one batched run exactly as it traces each image on its own', async () => {
    const ctx = await openModel(tiny);
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = randomSae(8, 24, 3, 6);
    const layer = resolveModelLayer(ctx, 'layer2');
    const layout = layerLayout(explainer.shapeOf(layer.tensor).slice(1));
    const cot = { wEnc: sae.wEnc, wDec: sae.wDec, dictSize: 24 };
    const size = ctx.imageInput.channels * ctx.preprocess.centerCrop ** 2;
    const images = [[0, 5, 7], [3], [1, 2, 11, 23]].map((concepts, i) => ({
      x: Float32Array.from({ length: size }, (_, p) => ((p * (i + 3) * 29 + i) % 256) / 255),
      concepts,
    }));
    const batched = await presenceTracesOfImages(ctx, runner, explainer, layer.tensor, layout, cot, naiveEncoder(sae), images);
    for (const [i, im] of images.entries()) {
      const alone = await presenceTraces(ctx, runner, explainer, layer.tensor, layout, cot, naiveEncoder(sae), im.x, im.concepts);
      assert.deepEqual(batched[i]!.input, alone.input);
      assert.equal(batched[i]!.bias.length, im.concepts.length);
      im.concepts.forEach((_, j) =>
        assert.ok(
          Math.abs(batched[i]!.bias[j]! - alone.bias[j]!) <= 1e-5 * Math.max(1, Math.abs(alone.bias[j]!)),
          `bias of image ${i}, concept ${im.concepts[j]}`,
        ),
      );
      let scale = 0;
      for (const t of alone.traces) for (const v of t) scale = Math.max(scale, Math.abs(v));
      assert.ok(scale > 0, 'the traces are not all zero');
      im.concepts.forEach((_, j) => {
        for (let p = 0; p < size; p++)
          assert.ok(
            Math.abs(batched[i]!.traces[j]![p]! - alone.traces[j]![p]!) <= 1e-5 * scale,
            `image ${i}, concept ${im.concepts[j]}, value ${p}`,
          );
      });
    }
    await runner.dispose();
    await explainer.dispose();
  });

  it('traces the samples of the default model through its shipped SAE in one run as it traces each image alone', async () => {
    const ctx = await openModel(path.join(defaultModel, 'model.onnx'));
    const runner = new ModelRunner();
    const explainer = await Explainer.create(ctx);
    const sae = await loadSae(path.join(defaultModel, 'saes', 'layer3'), { modelSha256: ctx.loaded.sha256 });
    const encoder = await SaeEncoder.create(sae);
    const encode = (v: Float32Array, n: number) => encoder.encode(v, n);
    const layer = resolveModelLayer(ctx, sae.cfg.layer);
    const layout = layerLayout(explainer.shapeOf(layer.tensor).slice(1));
    const cot = { wEnc: sae.wEnc, wDec: sae.wDec, dictSize: sae.cfg.dictSize };
    const samples = ['0000-ankle-boot.png', '0001-pullover.png', '0002-trouser.png', '0008-sandal.png'];
    const images = [];
    for (const [i, name] of samples.entries()) {
      const x = preprocessImage(await decodeImageFile(path.join(defaultModel, 'samples', name), 'grayscale'), ctx.preprocess);
      // Concepts active on the image (so their traces are not zero), a different number per image.
      const feats = await runner.run(ctx, x, 1, [layer.tensor]);
      const codes = await encode(toVectors(feats.outputs[layer.tensor]!.data, 1, layout), layout.locations);
      const active = [...new Set(Array.from(codes.indices).filter((_, t) => codes.values[t]! > 0))];
      // The codes alone (what the atlas asks for) are the full encoding's.
      const only = await encoder.codes(toVectors(feats.outputs[layer.tensor]!.data, 1, layout), layout.locations);
      assert.deepEqual([only.indices, only.values], [codes.indices, codes.values]);
      images.push({ x, concepts: active.slice(0, 3 + 2 * i) });
    }
    const batched = await presenceTracesOfImages(ctx, runner, explainer, layer.tensor, layout, cot, (v, n) => encoder.codes(v, n), images);
    for (const [i, im] of images.entries()) {
      const alone = await presenceTraces(ctx, runner, explainer, layer.tensor, layout, cot, encode, im.x, im.concepts);
      assert.deepEqual(batched[i]!.input, alone.input);
      im.concepts.forEach((c, j) => {
        // The same sums in float32, in kernels whose blocking follows the batch: agreement to a few ulps of the
        // trace's largest value, and of the presence's size for the bias (zero here: no constant on this path).
        let scale = 0;
        for (const v of alone.traces[j]!) scale = Math.max(scale, Math.abs(v));
        assert.ok(scale > 0, `the trace of concept ${c} on image ${i} is not zero`);
        for (let p = 0; p < im.x.length; p++)
          assert.ok(Math.abs(batched[i]!.traces[j]![p]! - alone.traces[j]![p]!) <= 1e-5 * scale, `image ${i}, concept ${c}, value ${p}`);
        assert.ok(Math.abs(batched[i]!.bias[j]! - alone.bias[j]!) <= 1e-5 * Math.max(1, Math.abs(alone.bias[j]!)));
        assert.equal(cropAroundMass(batched[i]!.maps[j]!, 28).size, cropAroundMass(alone.maps[j]!, 28).size);
      });
    }
    await Promise.all([runner.dispose(), explainer.dispose(), encoder.dispose()]);
  });

  it('crops around the mass of a trace', () => {
    const map = new Float64Array(100);
    map[3 * 10 + 6] = 5;
    map[4 * 10 + 7] = 4;
    map[0] = 0.1;
    const c = cropAroundMass(map, 10);
    assert.ok(c.x <= 6 && c.x + c.size > 7 && c.y <= 3 && c.y + c.size > 4, JSON.stringify(c));
    assert.ok(c.size < 10);
  });
});
