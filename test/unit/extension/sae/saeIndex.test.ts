// Which SAE a model explains with: the chosen one, else its only checkpoint; "no SAE" is a choice; several without a
// choice ask. The listing is read once and kept until invalidated (a file watcher calls it at activation).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { saveSae } from '../../../../src/core/sae/checkpoint';
import { initialState } from '../../../../src/core/sae/initialWeights';
import type { ModelEnv } from '../../../../src/extension/models';
import { NO_SAE, SaeIndex } from '../../../../src/extension/sae/saeIndex';
import { Choices } from '../../../../src/extension/state/choices';
import { memoryStore } from '../../../../src/extension/state/keyValueStore';
import { tempDir } from '../../../support/paths';

async function checkpoint(dir: string): Promise<string> {
  const s = initialState(4, 8, 2);
  await saveSae(dir, {
    cfg: { k: 2, dictSize: 8, dModel: 4, layer: 'layer3', modelSha256: 'c'.repeat(64), inputScale: 1 },
    wEnc: s.wEnc,
    wDec: s.wDec,
  });
  return dir;
}

function setup() {
  const root = tempDir('fact-sae-index-');
  const model = path.join(root, 'model.onnx');
  const env: ModelEnv = {
    extensionPath: tempDir('fact-sae-index-ext-'),
    globalStoragePath: tempDir('fact-sae-index-global-'),
    cacheRoot: tempDir('fact-sae-index-cache-'),
    workspaceFolder: root,
  };
  const choices = new Choices(memoryStore());
  return { root, model, choices, index: new SaeIndex(choices, () => env) };
}

describe('SAE index', () => {
  it('no checkpoint, then the only one, then several: asked for until one is chosen; "no SAE" is remembered', async () => {
    const { root, model, choices, index } = setup();
    assert.deepEqual(await index.effective(model), { why: 'none-found', checkpoints: [] });
    const a = await checkpoint(path.join(root, 'saes', 'layer3', 'k2-8'));
    assert.equal((await index.effective(model)).why, 'none-found', 'the listing is kept until invalidated');
    let changes = 0;
    index.onDidChange(() => changes++);
    index.invalidate();
    assert.equal(changes, 1);
    const only = await index.effective(model);
    assert.deepEqual([only.why, only.dir], ['only', a]);
    assert.equal(index.displayName(model, a), 'layer3/k2-8');
    const b = await checkpoint(path.join(root, 'saes', 'layer3', 'k2-8-2'));
    index.invalidate();
    const several = await index.effective(model);
    assert.deepEqual([several.why, several.dir, several.checkpoints.map((c) => c.dir)], ['several', undefined, [a, b]]);
    await choices.setSae(model, b);
    assert.deepEqual([(await index.effective(model)).why, (await index.effective(model)).dir], ['chosen', b]);
    assert.equal(index.peekEffective(model)?.dir, b, 'known without waiting once listed');
    await choices.setSae(model, NO_SAE);
    assert.deepEqual([(await index.effective(model)).why, (await index.effective(model)).dir], ['none-chosen', undefined]);
  });

  it('a chosen checkpoint that is gone falls back to what is on disk', async () => {
    const { root, model, choices, index } = setup();
    const a = await checkpoint(path.join(root, 'saes', 'layer3'));
    await choices.setSae(model, path.join(root, 'saes', 'deleted'));
    const eff = await index.effective(model);
    assert.deepEqual([eff.why, eff.dir], ['only', a]);
  });
});
