// Choices remembered per workspace: the active model, and per model the layer, dataset and SAE (plain Node: a Map
// stands in for VS Code's workspace state).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Choices, CHOICES_KEY } from '../../../../src/extension/state/choices';
import { memoryStore } from '../../../../src/extension/state/keyValueStore';

describe('remembered choices', () => {
  it('model, layer, dataset and SAE are remembered, per model, and survive a new Choices on the same store', async () => {
    const store = memoryStore();
    const a = new Choices(store);
    const seen: string[] = [];
    a.onDidChange((w) => seen.push(w));
    await a.setModel('/m/a.onnx');
    await a.setLayer('/m/a.onnx', 'layer3');
    await a.setDataset('/m/a.onnx', { kind: 'folder', path: '/data/x' });
    await a.setLayer('/m/b.onnx', 'layer2');
    await a.setSae('/m/a.onnx', '/m/saes/layer3/k8');
    const b = new Choices(store);
    assert.equal(b.model(), '/m/a.onnx');
    assert.equal(b.layer('/m/a.onnx'), 'layer3');
    assert.equal(b.layer('/m/b.onnx'), 'layer2');
    assert.deepEqual(b.dataset('/m/a.onnx'), { kind: 'folder', path: '/data/x' });
    assert.equal(b.dataset('/m/b.onnx'), undefined);
    assert.equal(b.sae('/m/a.onnx'), '/m/saes/layer3/k8');
    assert.deepEqual(seen, ['model', 'layer', 'dataset', 'layer', 'sae']);
  });

  it('a stored value that does not validate is ignored, never used', async () => {
    const store = memoryStore();
    await store.update(CHOICES_KEY, { version: '1', model: 42, perModel: 'nope' });
    const c = new Choices(store);
    assert.equal(c.model(), undefined);
    await store.update(CHOICES_KEY, {
      version: '1',
      model: '/x.onnx',
      perModel: [{ model: '/x.onnx', choice: { dataset: { kind: 'shell', cmd: 'rm' } } }],
      updatedAt: 1,
    });
    assert.equal(c.model(), undefined, 'a record with an unknown dataset kind is rejected as a whole');
  });

  it("the first version's remembered model is still read", async () => {
    const store = memoryStore();
    await store.update('fact.lastModel', '/old.onnx');
    assert.equal(new Choices(store).model(), '/old.onnx');
  });
});
