// What the status bar and the panels say about the execution provider: the one that actually ran the last model call
// once one has, else what the setting will mean here. No `vscode` import: unit-tested in plain Node.
import type { RanOn } from '../core/onnx/providerUsage';

export { ranOnText } from '../core/onnx/providerUsage';

export interface ProviderLabel {
  /** Short, for the status bar: "cpu", "webgpu", "cpu (asked webgpu)", "auto". */
  text: string;
  tooltip: string;
}

/**
 * `setting` is fact.executionProvider; `ran` what the worker last reported (undefined before any run);
 * `autoGpus` the GPU providers `auto` would try here (src/core/onnx/gpuCandidates.ts): none means `auto` is the CPU.
 */
export function providerLabel(setting: string, ran: RanOn | undefined, autoGpus: readonly string[]): ProviderLabel {
  const actual = ran?.executionProvider;
  if (actual) {
    const asked = setting !== 'auto' && actual !== setting;
    return {
      text: asked ? `${actual} (asked ${setting})` : actual,
      tooltip: `Execution provider: ${actual}${ran?.adapter ? ` on ${ran.adapter}` : ''} (setting fact.executionProvider: ${setting})${ran?.fallbackReason ? `\n${ran.fallbackReason}` : ''}`,
    };
  }
  if (setting === 'auto') {
    return autoGpus.length
      ? {
          text: 'auto',
          tooltip: `Execution provider: auto (setting fact.executionProvider): tries ${autoGpus.join(', then ')}, else the CPU; shown here once a model has run.`,
        }
      : {
          text: 'cpu',
          tooltip: 'Execution provider: cpu (setting fact.executionProvider: auto; no GPU with a CUDA or Vulkan driver here)',
        };
  }
  return { text: setting, tooltip: `Execution provider: ${setting} (setting fact.executionProvider)` };
}
