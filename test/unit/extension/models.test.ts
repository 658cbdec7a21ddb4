// Where a model's outputs go (beside it; the embedded model's into the workspace's .fact/ or global storage, never
// the install folder), layer labels as folder names, the card summary (tolerant) and which .onnx files are
// foundation models rather than models to explain.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  isFeatureExtractor,
  layerFolder,
  modelDisplayName,
  modelWorkDir,
  readCardSummary,
  saeDirs,
  type ModelEnv,
} from '../../../src/extension/models';
import { tempDir } from '../../support/paths';

describe('models', () => {
  it('a workspace model keeps its outputs beside it; the embedded one in the workspace, else global storage', () => {
    const ext = tempDir('fact-models-ext-');
    const env: ModelEnv = { extensionPath: ext, workspaceFolder: '/ws', globalStoragePath: '/global', cacheRoot: '/cache' };
    assert.equal(modelWorkDir('/ws/m/model.onnx', env), '/ws/m');
    const embedded = path.join(ext, 'models', 'fashion-mnist-bcos', 'model.onnx');
    assert.equal(modelWorkDir(embedded, env), '/ws/.fact/fashion-mnist-bcos');
    const { workspaceFolder: _none, ...noWorkspace } = env;
    assert.equal(modelWorkDir(embedded, noWorkspace), '/global/models/fashion-mnist-bcos');
    assert.deepEqual(saeDirs(embedded, 'layer3', env), [
      path.join(ext, 'models', 'fashion-mnist-bcos', 'saes', 'layer3'),
      '/ws/.fact/fashion-mnist-bcos/saes/layer3',
    ]);
    assert.deepEqual(saeDirs('/ws/m/model.onnx', 'layer3', env), ['/ws/m/saes/layer3']);
  });

  it('layer labels become safe folder names', () => {
    assert.deepEqual(['features.norm5', '/a/b:0', '..x', ''].map(layerFolder), ['features.norm5', '_a_b_0', '_x', '_']);
  });

  it('the card summary: splits, classes, the display name; a broken card reads as none', () => {
    const dir = tempDir('fact-models-card-');
    const model = path.join(dir, 'model.onnx');
    writeFileSync(
      path.join(dir, 'card.json'),
      JSON.stringify({
        name: 'm',
        displayName: 'My model',
        layers: [{ name: 'layer3' }, {}],
        data: { train: { count: 60 }, test: {} },
        classes: ['a', 'b'],
      }),
    );
    assert.deepEqual(readCardSummary(model), {
      name: 'm',
      displayName: 'My model',
      layers: ['layer3'],
      splits: { train: 60, test: 0 },
      classes: ['a', 'b'],
    });
    assert.equal(modelDisplayName(model), 'My model');
    writeFileSync(path.join(dir, 'card.json'), '{ not json');
    assert.equal(readCardSummary(model), undefined);
    assert.equal(modelDisplayName(model), `${path.basename(dir)}/model.onnx`);
  });

  it('foundation models: below a foundation/ folder, or beside a preprocessing spec', () => {
    const root = tempDir('fact-models-foundation-');
    mkdirSync(path.join(root, 'x'));
    writeFileSync(path.join(root, 'x', 'dino.json'), JSON.stringify({ size: 224, mean: [0], std: [1] }));
    writeFileSync(path.join(root, 'x', 'other.json'), JSON.stringify({ size: 224 }));
    assert.equal(isFeatureExtractor(path.join(root, 'foundation', 'a.onnx'), root), true);
    assert.equal(isFeatureExtractor(path.join(root, 'x', 'dino.onnx'), root), true);
    assert.equal(isFeatureExtractor(path.join(root, 'x', 'other.onnx'), root), false);
    assert.equal(isFeatureExtractor(path.join(root, 'x', 'model.onnx'), root), false);
  });
});
