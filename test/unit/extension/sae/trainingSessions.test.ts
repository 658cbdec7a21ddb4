// The training panel's session: after a cancel, Resume is offered once the worker has saved the training state —
// which may land after the cancel reached the host (the bug that left the panel without Resume under load).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkpointFiles } from '../../../../src/core/sae/saeFolder';
import { TrainingSession } from '../../../../src/extension/sae/trainingSessions';
import { tempDir } from '../../../support/paths';

function session(out: string): TrainingSession {
  return new TrainingSession(
    { model: 'm.onnx', features: 'f', out, layer: 'layer3', k: 4, dictSize: 16 },
    { format: 1, model: 'm.onnx', features: 'f', layer: 'layer3', k: 4, dictSize: 16, runs: [] },
  );
}

describe('training sessions', () => {
  it('becomes resumable, and says so, when the state is saved after the cancel', async () => {
    const out = tempDir('fact-session-');
    const s = session(out);
    s.begin(false);
    await s.end('cancelled');
    assert.equal(s.resumable, false, 'no state on disk yet');
    assert.equal(s.message, 'Cancelled: saving the training state…', 'it does not claim a state it has not got');
    const heard = new Promise<boolean>((resolve) =>
      s.onDidChange((x) => {
        if (x.resumable) resolve(true);
      }),
    );
    writeFileSync(path.join(out, checkpointFiles.trainStateJson), '{}');
    assert.equal(await heard, true);
    assert.equal(s.message, 'Cancelled: the state is saved, Resume continues it.');
    s.dispose();
  });

  it('is resumable at once when the state was saved before the cancel arrived', async () => {
    const out = tempDir('fact-session-');
    const s = session(out);
    s.begin(false);
    writeFileSync(path.join(out, checkpointFiles.trainStateJson), '{}');
    await s.end('cancelled');
    assert.equal(s.resumable, true);
    assert.equal(s.message, 'Cancelled: the state is saved, Resume continues it.');
    s.dispose();
  });
});
