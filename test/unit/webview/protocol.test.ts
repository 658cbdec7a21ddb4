import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { modelHostMessageSchema, modelWebviewMessageSchema } from '../../../webview/shared/protocol';
import { validate } from '../../../webview/shared/schema';
import { toModelView } from '../../../src/extension/panels/modelView';
import { inspectModel } from '../../../src/core/model/inspectModel';
import { openModel } from '../../../src/core/model/modelContext';
import { ModelRunner } from '../../../src/core/model/modelRunner';
import { fixtures } from '../../support/paths';

describe('host ↔ webview protocol', () => {
  it('accepts well-formed messages and rejects malformed ones with the path of the fault', () => {
    assert.ok(validate(modelWebviewMessageSchema, { type: 'ready' }).ok);
    assert.ok(validate(modelWebviewMessageSchema, { type: 'copyText', text: 'abc' }).ok);
    const bad = validate(modelWebviewMessageSchema, { type: 'copyText', text: 3 });
    assert.deepEqual(bad, { ok: false, error: 'message.text is not a string' });
    assert.equal(validate(modelWebviewMessageSchema, { type: 'runShell' }).ok, false);
    assert.equal(validate(modelWebviewMessageSchema, null).ok, false);
    assert.equal(validate(modelHostMessageSchema, { type: 'error', message: 'x' }).ok, true);
  });

  it('the model view the host builds from a real inspection passes the webview validator', async () => {
    const runner = new ModelRunner();
    const view = toModelView(await inspectModel(await openModel(path.join(fixtures, 'tiny', 'tiny.onnx')), runner));
    await runner.dispose();
    const v = validate(modelHostMessageSchema, { type: 'model', model: view });
    assert.ok(v.ok, v.ok ? '' : v.error);
    assert.equal(view.layers.find((l) => l.label === 'layer2')?.recommended, true);
    assert.equal(view.inputs[0]!.shape, '[N, 2, 8, 8]');
    const broken = validate(modelHostMessageSchema, { type: 'model', model: { ...view, layers: [{ label: 'x' }] } });
    assert.equal(broken.ok, false);
  });
});
