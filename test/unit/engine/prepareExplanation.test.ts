// Preparing a model's explanation (the editor's warm-up): the worker method builds and caches both explanation
// graphs (the predicted class's and any chosen class's), and the explanations that follow reuse them unchanged and
// equal those of an explainer that was never prepared.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Explainer } from '../../../src/core/engine/explainer';
import { modelHandlers } from '../../../src/core/jobs/modelMethods';
import { CoreServices } from '../../../src/core/jobs/services';
import type { CallContext } from '../../../src/core/jobs/callContext';
import { explanationGraphsFolder } from '../../../src/core/sae/saeFolder';
import { openModel } from '../../../src/core/model/modelContext';
import { fixtures, tempDir } from '../../support/paths';

const tiny = path.join(fixtures, 'tiny', 'tiny.onnx');

const graphs = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.ort'))
    .sort()
    .map((f) => ({ f, ino: statSync(path.join(dir, f)).ino }));

describe('preparing an explanation', () => {
  it('builds both explanation graphs ahead; the explanations after it build nothing and match an unprepared explainer', async () => {
    const root = tempDir('fact-prepare-');
    const services = new CoreServices({ cacheRoot: root, cacheGraphs: true });
    try {
      const r = await modelHandlers.prepareExplanation({ model: tiny }, services, {} as CallContext);
      assert.ok(r.seconds > 0);
      const dir = explanationGraphsFolder(root);
      const prepared = graphs(dir);
      assert.equal(prepared.length, 2, "the predicted class's graph and the any-class graph");

      const ctx = await openModel(tiny);
      const { channels, height, width } = ctx.imageInput;
      const side = ctx.preprocess.centerCrop;
      const n = channels * (height ?? side) * (width ?? side);
      const image = Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 101);
      const warm = await services.explainer(tiny);
      const plain = await Explainer.create(ctx);
      try {
        for (const classes of [undefined, [2]]) {
          const [a] = await warm.explain(image, 1, classes);
          const [b] = await plain.explain(image, 1, classes);
          assert.equal(a!.classIndex, b!.classIndex);
          assert.deepEqual(a!.weights, b!.weights);
          assert.deepEqual(a!.logits, b!.logits);
        }
      } finally {
        await plain.dispose();
      }
      assert.deepEqual(graphs(dir), prepared, 'no graph was built or written again');
    } finally {
      await services.dispose();
    }
  });
});
