// The status bar item: the active model, its SAE (once one is chosen), the execution provider, and a spinner with
// the progress of running jobs. Click → FaCT: Select Model.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isEmbedded, modelDisplayName } from './models';
import type { Fact } from './services';

export const STATUS_BAR_ID = 'fact.status';

export interface StatusText { text: string; tooltip: string; accessibility: string }

/** What the item says; separate from the vscode object so it can be checked directly. */
export function statusText(fact: Fact): StatusText {
  const model = fact.choices.model();
  const ep = vscode.workspace.getConfiguration('fact').get<string>('executionProvider', 'cpu');
  const jobs = fact.jobs.list();
  const parts: string[] = [];
  const tip: string[] = [];
  if (model) {
    const name = isEmbedded(model, fact.env()) ? 'default model' : path.basename(path.dirname(model)) + '/' + path.basename(model);
    parts.push(name);
    tip.push(`Active model: ${modelDisplayName(model)} (${model})`);
    const sae = fact.choices.sae(model);
    if (sae) {
      parts.push(`SAE ${path.basename(sae)}`);
      tip.push(`SAE: ${sae}`);
    } else tip.push('SAE: none chosen');
  } else {
    parts.push('no model');
    tip.push('No active model: click to choose one (the embedded default works with no set-up).');
  }
  parts.push(ep);
  tip.push(`Execution provider: ${ep} (setting fact.executionProvider)`);
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
  };
}

export function registerStatusBar(fact: Fact): vscode.Disposable {
  const item = vscode.window.createStatusBarItem(STATUS_BAR_ID, vscode.StatusBarAlignment.Left, 50);
  item.name = 'FaCT';
  item.command = 'fact.selectModel';
  const update = () => {
    const s = statusText(fact);
    item.text = s.text;
    item.tooltip = s.tooltip;
    item.accessibilityInformation = { label: s.accessibility, role: 'button' };
  };
  update();
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
    fact.choices.onDidChange(update),
    jobSub,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('fact.executionProvider')) update();
    }),
  );
}
