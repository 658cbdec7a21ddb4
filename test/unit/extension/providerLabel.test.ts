// The execution provider as the status bar and the panels state it (src/extension/providerLabel.ts).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { providerLabel, ranOnText } from '../../../src/extension/providerLabel';

describe('the execution provider label', () => {
  it('before any run, auto on a machine without a usable GPU driver is the CPU, and says why', () => {
    const l = providerLabel('auto', undefined, []);
    assert.equal(l.text, 'cpu');
    assert.match(l.tooltip, /^Execution provider: cpu \(setting fact\.executionProvider: auto; no GPU/);
  });

  it('before any run, auto with GPU candidates stays "auto" and names what it will try', () => {
    const l = providerLabel('auto', undefined, ['cuda', 'webgpu']);
    assert.equal(l.text, 'auto');
    assert.match(l.tooltip, /tries cuda, then webgpu, else the CPU/);
  });

  it('an explicit setting is shown as it is until a run says otherwise', () => {
    assert.equal(providerLabel('webgpu', undefined, []).text, 'webgpu');
  });

  it('after a run: the provider that ran; a fallback from an explicit setting says what was asked and why', () => {
    assert.equal(providerLabel('auto', { executionProvider: 'webgpu', adapter: 'NVIDIA H200' }, ['webgpu']).text, 'webgpu');
    const fell = providerLabel('webgpu', { executionProvider: 'cpu', fallbackReason: 'webgpu is not available: no Vulkan driver.' }, []);
    assert.equal(fell.text, 'cpu (asked webgpu)');
    assert.match(fell.tooltip, /\nwebgpu is not available: no Vulkan driver\.$/);
    // auto never reads as a fallback: it chose the CPU.
    assert.equal(providerLabel('auto', { executionProvider: 'cpu' }, []).text, 'cpu');
  });

  it('the panels line names the adapter and the fallback reason', () => {
    assert.equal(ranOnText(undefined), undefined);
    assert.equal(ranOnText({ executionProvider: 'webgpu', adapter: 'llvmpipe (software)' }), 'webgpu on llvmpipe (software)');
    assert.equal(ranOnText({ executionProvider: 'cpu', fallbackReason: 'x.' }), 'cpu (x.)');
  });
});
