// The consistency panel (FaCT: Measure Consistency, or the tree's "Show Consistency"): the C² histogram of an SAE's
// concepts with the random-trace baseline, the means and Δ_rand, and every scored concept in a table that sorts and
// filters (click a row → its concept panel). One panel per SAE; it reads the report the core saved in the cache
// (consistency.json/png, src/core/sae/saeFolder.ts), so it opens at once and comes back after a window reload.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  consistencyHostMessageSchema,
  consistencyPanelStateSchema,
  consistencyWebviewMessageSchema,
  type ConsistencyHostMessage,
  type ConsistencyPanelState,
  type ConsistencyView,
  type ConsistencyWebviewMessage,
} from '../../../webview/shared/protocol';
import { readConsistency } from '../../core/sae/saeFolder';
import { log } from '../log';
import { revealPath } from '../reveal';
import { modelDisplayName } from '../models';
import type { ConsistencyReport } from '../../core/consistency/measureConsistency';
import type { Fact } from '../services';
import { createPanel, PanelHost, PanelRegistry, type PanelKind } from './panelHost';

export const CONSISTENCY_PANEL_VIEW_TYPE = 'fact.consistency';

export const consistencyPanelKind: PanelKind<ConsistencyHostMessage, ConsistencyWebviewMessage, ConsistencyPanelState> = {
  viewType: CONSISTENCY_PANEL_VIEW_TYPE,
  entry: 'consistency',
  hostMessages: consistencyHostMessageSchema,
  webviewMessages: consistencyWebviewMessageSchema,
  state: consistencyPanelStateSchema,
};

export interface ConsistencyTarget {
  model: string;
  sae: string;
}

/** A report as the panel shows it (the panel draws the histogram from the rows' scores, in the theme's colours). */
export async function toConsistencyView(
  fact: Fact,
  t: ConsistencyTarget,
  report: ConsistencyReport,
  measuredAt: string | null,
): Promise<ConsistencyView> {
  const atlas = await fact.concepts.readyAtlas(t.sae);
  const byConcept = new Map(atlas?.concepts.map((c) => [c.concept, c]) ?? []);
  const info = (await fact.saes.list(t.model)).find((c) => c.dir === t.sae);
  return {
    model: t.model,
    modelName: modelDisplayName(t.model),
    sae: t.sae,
    saeName: fact.saes.displayName(t.model, t.sae),
    layer: info?.layer ?? atlas?.layer ?? '',
    foundation: report.foundation ? path.basename(report.foundation) : '',
    mean: report.mean,
    randomMean: report.randomMean,
    deltaRandom: report.deltaRandom,
    conceptsInMean: report.conceptsInMean,
    minImagesForMean: report.minImagesForMean,
    dropped: report.dropped.length,
    rows: report.concepts.map((c) => {
      const a = byConcept.get(c.concept);
      return {
        concept: c.concept,
        images: c.images,
        score: c.score,
        random: c.random,
        frequency: a?.frequency ?? null,
        meanContribution: a?.meanContribution ?? null,
        topClass: a?.classes[0]?.name ?? null,
      };
    }),
    measuredAt,
  };
}

export class ConsistencyPanel extends PanelHost<ConsistencyHostMessage, ConsistencyWebviewMessage, ConsistencyPanelState> {
  static readonly open = new PanelRegistry<ConsistencyPanel>();
  private view: ConsistencyView | undefined;

  /** Shows the SAE's report: `result` when just measured, else the one on disk. */
  static async show(fact: Fact, t: ConsistencyTarget, result?: ConsistencyReport & { histogram?: string }): Promise<ConsistencyPanel> {
    let p = ConsistencyPanel.open.get(t.sae);
    if (p) p.reveal();
    else p = new ConsistencyPanel(createPanel(fact.extensionUri, CONSISTENCY_PANEL_VIEW_TYPE, titleFor(fact, t)), fact, t, false);
    await p.load(result);
    return p;
  }

  static revive(fact: Fact, panel: vscode.WebviewPanel, state: ConsistencyPanelState): ConsistencyPanel {
    ConsistencyPanel.open.get(state.sae)?.dispose();
    return new ConsistencyPanel(panel, fact, state, true);
  }

  private constructor(
    panel: vscode.WebviewPanel,
    fact: Fact,
    readonly target: ConsistencyTarget,
    loadNow: boolean,
  ) {
    super(panel, fact, consistencyPanelKind, titleFor(fact, target));
    ConsistencyPanel.open.add(target.sae, this);
    this.trackJobs((j) => j.target === target.sae);
    if (loadNow) void this.load();
  }

  get currentView(): ConsistencyView | undefined {
    return this.view;
  }

  async load(result?: ConsistencyReport & { histogram?: string }): Promise<ConsistencyView | undefined> {
    const t = this.target;
    this.post({ type: 'loading', sae: t.sae, saeName: this.fact.saes.displayName(t.model, t.sae) });
    try {
      const saved = await readConsistency(await this.fact.concepts.folder(t.sae));
      const report = result ?? saved?.report;
      if (!report) throw new Error(`SAE '${t.sae}' has no C² report yet: run FaCT: Measure Consistency.`);
      this.view = await toConsistencyView(this.fact, t, report, saved ? new Date(saved.mtimeMs).toISOString() : null);
      this.post({ type: 'report', view: this.view });
      return this.view;
    } catch (e) {
      const message = (e as Error).message;
      log().warn(`Consistency panel for ${t.sae}: ${message}`);
      this.view = undefined;
      this.post({ type: 'error', message });
      return undefined;
    }
  }

  protected override async onMessage(m: ConsistencyWebviewMessage): Promise<void> {
    const t = this.target;
    switch (m.type) {
      case 'openConcept':
        await this.fact.ui.executeCommand('fact.openConcept', { model: t.model, sae: t.sae, concept: m.concept });
        break;
      case 'remeasure':
        await this.fact.ui.executeCommand('fact.measureConsistency', { model: t.model, sae: t.sae });
        break;
      case 'revealSae': {
        await revealPath((await readConsistency(await this.fact.concepts.folder(t.sae)))?.file ?? t.sae);
        break;
      }
    }
  }
}

function titleFor(fact: Fact, t: ConsistencyTarget): string {
  return `C²: ${fact.saes.displayName(t.model, t.sae)}`;
}
