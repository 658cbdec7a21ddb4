// The status bar items: the active model, the execution provider and a spinner with the progress of running jobs
// (click → FaCT: Select Model…); beside it, the SAE the active model's explanations go through — the chosen one,
// else its only checkpoint — (click → FaCT: Choose SAE…), shown when the model has any.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { autoGpuCandidates } from '../core/onnx/gpuCandidates';
import { providerLabel } from './providerLabel';
import { lastRanOn, onDidChangeRanOn } from './ranOn';
import { isEmbedded, modelDisplayName } from './models';
import { checkpointFacts } from './tree/saeCheckpoints';
import type { Fact } from './services';

export const STATUS_BAR_ID = 'fact.status';
export const SAE_STATUS_BAR_ID = 'fact.status.sae';

export interface StatusText {
  text: string;
  tooltip: string;
  accessibility: string;
  /** The SAE item; undefined while it is hidden (no active model, or a model without checkpoints). */
  sae?: { text: string; tooltip: string; accessibility: string };
}

/** The GPUs `auto` would try (file checks; remembered per CUDA folder, the setting's change restarts the worker). */
const autoGpuMemo = new Map<string, string[]>();
function autoGpus(cudaLibraryPath: string | undefined): string[] {
  const key = cudaLibraryPath ?? '';
  let v = autoGpuMemo.get(key);
  if (!v) autoGpuMemo.set(key, (v = autoGpuCandidates(cudaLibraryPath)));
  return v;
}

/** What the item says; separate from the vscode object so it can be checked directly. */
export function statusText(fact: Fact): StatusText {
  const model = fact.choices.model();
  const cfg = vscode.workspace.getConfiguration('fact');
  const ep = cfg.get<string>('executionProvider', 'auto');
  const jobs = fact.jobs.list();
  const parts: string[] = [];
  const tip: string[] = [];
  let sae: StatusText['sae'];
  if (model) {
    const name = isEmbedded(model, fact.env()) ? 'default model' : path.basename(path.dirname(model)) + '/' + path.basename(model);
    parts.push(name);
    tip.push(`Active model: ${modelDisplayName(model)} (${model})`);
    const eff = fact.saes.peekEffective(model);
    if (eff?.dir) {
      const name = fact.saes.displayName(model, eff.dir);
      const info = fact.saes.info(model, eff.dir);
      const facts = info
        ? [
            info.k !== undefined ? `k ${info.k}` : '',
            info.dictSize !== undefined ? `${info.dictSize.toLocaleString('en-US')} concepts` : '',
            ...checkpointFacts(info).map((f) => f.short),
          ]
            .filter(Boolean)
            .join(' · ')
        : '';
      tip.push(`SAE: ${name} (${eff.why === 'only' ? 'the only checkpoint of this model' : 'chosen'}): ${eff.dir}`);
      sae = {
        text: `$(symbol-class) SAE ${name}`,
        tooltip: [
          `SAE of ${modelDisplayName(model)}: ${name}${eff.why === 'only' ? ' (its only checkpoint)' : ''}`,
          facts,
          eff.dir,
          '',
          'Click to choose another SAE, or none.',
        ]
          .filter((x, i) => x !== '' || i === 3)
          .join('\n'),
        accessibility: `FaCT SAE: ${name}`,
      };
    } else if (eff && (eff.why === 'several' || eff.why === 'none-chosen')) {
      tip.push(eff.why === 'several' ? 'SAE: none chosen yet (several checkpoints)' : 'SAE: none (explanations without concepts)');
      sae = {
        text: eff.why === 'several' ? '$(symbol-class) SAE: choose…' : '$(symbol-class) no SAE',
        tooltip:
          eff.why === 'several'
            ? `${modelDisplayName(model)} has ${eff.checkpoints.length} SAE checkpoints: click to choose the one explanations go through.`
            : `Explanations of ${modelDisplayName(model)} go through no SAE. Click to choose one.`,
        accessibility: eff.why === 'several' ? 'FaCT SAE: choose one' : 'FaCT SAE: none',
      };
    } else tip.push('SAE: none (this model has no SAE checkpoint)');
  } else {
    parts.push('no model');
    tip.push('No active model: click to choose one (the embedded default works with no set-up).');
  }
  // The provider that actually ran the last model call, once one has; until then what the setting means here.
  const provider = providerLabel(ep, lastRanOn(), ep === 'auto' ? autoGpus(cfg.get<string>('cudaLibraryPath', '') || undefined) : []);
  parts.push(provider.text);
  tip.push(provider.tooltip);
  let spin = '';
  if (jobs.length) {
    const j = jobs[0]!;
    spin = `$(sync~spin) ${j.fraction !== undefined ? `${Math.round(j.fraction * 100)} % ` : ''}`;
    tip.push(...jobs.map((x) => `Running: ${x.title} — ${x.message}`));
  }
  tip.push('', 'Click to choose the active model.');
  return {
    text: `${spin}$(circuit-board) FaCT: ${parts.join(' · ')}`,
    tooltip: tip.join('\n'),
    accessibility: `FaCT: ${parts.join(', ')}${jobs.length ? `, ${jobs.length} job${jobs.length > 1 ? 's' : ''} running` : ''}`,
    ...(sae ? { sae } : {}),
  };
}

export function registerStatusBar(fact: Fact): vscode.Disposable {
  const item = vscode.window.createStatusBarItem(STATUS_BAR_ID, vscode.StatusBarAlignment.Left, 50);
  item.name = 'FaCT';
  item.command = 'fact.selectModel';
  const saeItem = vscode.window.createStatusBarItem(SAE_STATUS_BAR_ID, vscode.StatusBarAlignment.Left, 49);
  saeItem.name = 'FaCT SAE';
  saeItem.command = 'fact.selectSae';
  const update = () => {
    const s = statusText(fact);
    item.text = s.text;
    item.tooltip = s.tooltip;
    item.accessibilityInformation = { label: s.accessibility, role: 'button' };
    if (s.sae) {
      saeItem.text = s.sae.text;
      saeItem.tooltip = s.sae.tooltip;
      saeItem.accessibilityInformation = { label: s.sae.accessibility, role: 'button' };
      saeItem.show();
    } else saeItem.hide();
  };
  /** Reads the active model's checkpoints (once; the index caches them), then shows them. */
  const refreshSaes = () => {
    const model = fact.choices.model();
    if (model) void fact.saes.list(model).then(update, () => undefined);
  };
  update();
  refreshSaes();
  item.show();
  let last = 0;
  const jobSub = fact.jobs.onDidChange((j) => {
    // Progress reports can be many per second; the item needs a few.
    const now = Date.now();
    if (j.state !== 'running' || now - last > 500) {
      last = now;
      update();
    }
  });
  return vscode.Disposable.from(
    item,
    saeItem,
    {
      dispose: fact.choices.onDidChange((what) => {
        update();
        if (what === 'model') refreshSaes();
      }).dispose,
    },
    { dispose: fact.saes.onDidChange(() => refreshSaes()).dispose },
    jobSub,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('fact.executionProvider')) update();
    }),
    onDidChangeRanOn(() => update()),
  );
}
