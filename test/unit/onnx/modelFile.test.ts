import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeModel, encodeModel, loadModelFile } from '../../../src/core/onnx/modelFile';
import { int } from '../../../src/core/onnx/types';
import { buildTinyBcosModel } from '../../support/tinyBcos';
import { tempDir, fixtures } from '../../support/paths';

describe('ONNX model files', () => {
  it('round-trips a model through encode and decode without losing nodes or weights', () => {
    const bytes = encodeModel(buildTinyBcosModel());
    const m = decodeModel(bytes);
    assert.equal(int(m.irVersion), 8);
    assert.equal(m.graph!.node.length, 48);
    const again = encodeModel(m);
    assert.deepEqual(Buffer.from(again), Buffer.from(bytes));
  });

  it('loads a model file and hashes it', async () => {
    const m = await loadModelFile(path.join(fixtures, 'tiny', 'tiny.onnx'));
    assert.match(m.sha256, /^[0-9a-f]{64}$/);
    assert.equal(m.graph.output[0]!.name, 'logits');
  });

  it('says a missing file is missing', async () => {
    await assert.rejects(
      loadModelFile('/nonexistent/model.onnx'),
      (e: Error & { code?: string }) => e.code === 'file-missing' && /does not exist/.test(e.message),
    );
  });

  it('says a JSON file, random bytes and an empty file are not ONNX', async () => {
    const dir = tempDir();
    const cases: Record<string, Uint8Array> = {
      'package.json': Buffer.from('{"name": "x"}'),
      'random.onnx': Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24),
      'empty.onnx': new Uint8Array(0),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const f = path.join(dir, name);
      writeFileSync(f, bytes);
      await assert.rejects(loadModelFile(f), (e: Error & { code?: string }) => e.code === 'not-onnx' && e.message.includes(name), name);
    }
  });

  it('refuses models whose weights live in external data files, naming the weight', () => {
    const m = buildTinyBcosModel();
    const w = m.graph!.initializer[0]!;
    w.dataLocation = 1;
    w.externalData = [{ key: 'location', value: 'weights.bin' }];
    assert.throws(
      () => decodeModel(encodeModel(m), 'ext.onnx'),
      (e: Error) => e.message.includes(w.name) && e.message.includes('external data'),
    );
  });
});
