// The extension keeps the remembered choices in the workspace state (their rules: test/unit/extension/state).
import * as assert from 'node:assert/strict';
import { factApi, workspaceDefaultModel } from './helpers';

suite('FaCT: remembered choices', () => {
  test('the extension keeps them in the workspace state', async () => {
    const api = await factApi();
    const model = workspaceDefaultModel();
    await api.choices.setModel(model);
    assert.equal(api.choices.model(), model);
    assert.match(api.statusText().text, /FaCT: fashion-mnist-bcos\/model\.onnx · cpu/);
  });
});
