// Where the core last actually ran a model (provider, WebGPU adapter, fallback reason), from the results of its
// calls; the status bar shows it. Cleared when the provider settings change (the worker restarts).
import * as vscode from 'vscode';
import type { RanOn } from '../core/onnx/providerUsage';
import { ranOnText } from './providerLabel';

let last: RanOn | undefined;
const changed = new vscode.EventEmitter<void>();

export const onDidChangeRanOn = changed.event;

export function noteRanOn(r: RanOn | undefined): void {
  last = r;
  changed.fire();
}

export function lastRanOn(): RanOn | undefined {
  return last;
}

/** "webgpu on llvmpipe (software)", "cpu (webgpu is not available: …)", or undefined before any run. */
export function ranOnLabel(): string | undefined {
  return ranOnText(last);
}
