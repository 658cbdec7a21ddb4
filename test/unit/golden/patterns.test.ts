// The export-pattern corpus (models/recipes/export_patterns.py): models exported by plain torch.onnx.export with a
// dynamic batch axis, never edited, each containing a construct real B-cos-v2 exports contain. Each must pass
// `fact check` and match PyTorch's explanation-mode W(x) and logits to 1e-4 relative.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkModel } from '../../../src/core/engine/checkModel';
import { Explainer } from '../../../src/core/engine/explainer';
import { openModel } from '../../../src/core/model/modelContext';
import { loadModelFile } from '../../../src/core/onnx/modelFile';
import { int, type OnnxGraph } from '../../../src/core/onnx/types';
import { fixtures, repoRoot } from '../../support/paths';
import { f32, golden, ints, relErr } from './goldenSupport';

const TOL = 1e-4;

interface PatternEntry {
  model: string;
  modelSha256: string;
  image: number;
  description: string;
  expect: string[];
}
const index: Record<string, PatternEntry> = JSON.parse(readFileSync(path.join(fixtures, 'patterns', 'index.json'), 'utf8'));

/** Whether the raw export contains the construct the pattern is there for. */
function contains(g: OnnxGraph, what: string): boolean {
  switch (what) {
    case 'LayerNormalization with an empty bias input':
      return g.node.some((n) => n.opType === 'LayerNormalization' && n.input.length === 3 && n.input[2] === '');
    case 'grouped Conv':
      return g.node.some((n) => n.opType === 'Conv' && n.attribute.some((a) => a.name === 'group' && int(a.i) > 1));
    default:
      return g.node.some((n) => n.opType === what);
  }
}

describe('raw torch exports of B-cos-v2 constructs', () => {
  for (const [name, entry] of Object.entries(index)) {
    it(`${name}: ${entry.description}`, async () => {
      const file = path.join(repoRoot, entry.model);
      const raw = await loadModelFile(file);
      for (const what of entry.expect) assert.ok(contains(raw.graph, what), `the export contains ${what}`);
      assert.equal(raw.graph.input[0]!.type!.tensorType!.shape!.dim[0]!.dimParam, 'batch', 'exported with a dynamic batch axis');
      const ctx = await openModel(file);
      assert.equal(ctx.loaded.sha256, entry.modelSha256);
      const report = await checkModel(ctx, []);
      assert.ok(report.dynamicLinear, report.reason);
      assert.ok(report.worstCompletenessRel! < 1e-5, `completeness ${report.worstCompletenessRel}`);
      const g = await golden(`patterns/${name}/golden.safetensors`);
      const x = f32(g, 'image');
      const pred = ints(g, 'pred');
      const ex = await Explainer.create(ctx);
      const explained = await ex.explain(x, pred.length, pred);
      const logits = Float32Array.from(explained.flatMap((e) => Array.from(e.logits)));
      assert.ok(relErr(logits, f32(g, 'logits')) <= TOL, `logits: ${relErr(logits, f32(g, 'logits'))}`);
      const wx = f32(g, 'wx.pred');
      const per = wx.length / pred.length;
      for (const [i, e] of explained.entries()) {
        const err = relErr(e.weights, wx.subarray(i * per, (i + 1) * per));
        assert.ok(err <= TOL, `image ${i}: W(x) relative error ${err}`);
      }
      await ex.dispose();
    });
  }
});
