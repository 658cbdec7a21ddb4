// The concept panel (FaCT: Open Concept, or a click on a concept anywhere): one concept of an SAE — its top 16
// dataset images with their traces (the atlas strip), how often it is present, its mean presence and contribution,
// its C² score against random traces, and the classes it contributes to. One panel, reused for the next concept
// (Previous/Next walk the concepts by mean contribution), restored after a window reload.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  conceptHostMessageSchema,
  conceptPanelStateSchema,
  conceptWebviewMessageSchema,
  type ConceptHostMessage,
  type ConceptPanelState,
  type ConceptView,
  type ConceptWebviewMessage,
} from '../../../webview/shared/protocol';
import { pngDataUri } from '../../../common/format';
import { isFactError } from '../../core/errors';
import { log } from '../log';
import { revealPath } from '../reveal';
import { modelDisplayName, readCardSummary } from '../models';
import { pickConcept } from '../pick/pickConcept';
import type { ConceptResult } from '../sae/conceptService';
import type { Atlas } from '../../core/concepts/atlas';
import { checkpointFiles } from '../../core/sae/saeFolder';
import { conceptsByContribution } from '../sae/saeFiles';
import type { Fact } from '../services';
import { createPanel, PanelHost, type PanelKind } from './panelHost';

export const CONCEPT_PANEL_VIEW_TYPE = 'fact.concept';

export const conceptPanelKind: PanelKind<ConceptHostMessage, ConceptWebviewMessage, ConceptPanelState> = {
  viewType: CONCEPT_PANEL_VIEW_TYPE,
  entry: 'concept',
  hostMessages: conceptHostMessageSchema,
  webviewMessages: conceptWebviewMessageSchema,
  state: conceptPanelStateSchema,
};

export interface ConceptTarget {
  model: string;
  sae: string;
  concept: number;
}

export function toConceptView(
  r: ConceptResult,
  t: ConceptTarget & { saeName: string; layer: string },
  atlas: Atlas | undefined,
  classNames: string[] | undefined,
): ConceptView {
  const name = (i: number) => classNames?.[i] ?? r.classes.find((c) => c.index === i)?.name ?? `class ${i}`;
  const ranked = atlas ? conceptsByContribution(atlas) : [];
  const at = ranked.findIndex((c) => c.concept === r.concept);
  return {
    model: t.model,
    modelName: modelDisplayName(t.model),
    sae: t.sae,
    saeName: t.saeName,
    layer: t.layer,
    concept: r.concept,
    dictSize: atlas?.dictSize ?? 0,
    frequency: r.frequency,
    images: r.images,
    imagesEvaluated: atlas?.imagesEvaluated ?? null,
    meanPresence: r.meanPresence,
    meanContribution: r.meanContribution,
    rank: at >= 0 ? at + 1 : null,
    alive: atlas ? ranked.length : null,
    classes: r.classes.map((c) => ({ index: c.index, name: c.name, contribution: c.contribution })),
    top: r.top.map((i) => ({
      image: i.image,
      presence: i.presence,
      contribution: i.contribution,
      label: name(i.label),
      predicted: name(i.predicted),
    })),
    strip: r.stripPng ? pngDataUri(r.stripPng) : null,
    c2: r.c2 ?? null,
    c2Random: r.c2Random ?? null,
    previous: at > 0 ? ranked[at - 1]!.concept : null,
    next: at >= 0 && at + 1 < ranked.length ? ranked[at + 1]!.concept : null,
  };
}

export class ConceptPanel extends PanelHost<ConceptHostMessage, ConceptWebviewMessage, ConceptPanelState> {
  static current: ConceptPanel | undefined;
  private target: ConceptTarget;
  private seq = 0;
  private view: ConceptView | undefined;

  static show(fact: Fact, t: ConceptTarget): ConceptPanel {
    const open = ConceptPanel.current;
    if (open && !open.isDisposed) {
      open.reveal();
      void open.load(t);
      return open;
    }
    return new ConceptPanel(createPanel(fact.extensionUri, CONCEPT_PANEL_VIEW_TYPE, titleFor(t.concept)), fact, t);
  }

  static revive(fact: Fact, panel: vscode.WebviewPanel, state: ConceptPanelState): ConceptPanel {
    ConceptPanel.current?.dispose();
    return new ConceptPanel(panel, fact, state);
  }

  private constructor(panel: vscode.WebviewPanel, fact: Fact, t: ConceptTarget) {
    super(panel, fact, conceptPanelKind, titleFor(t.concept));
    this.target = t;
    ConceptPanel.current = this;
    this.onDidDispose(() => {
      if (ConceptPanel.current === this) ConceptPanel.current = undefined;
    });
    this.trackJobs((j) => j.target === this.target.sae);
    void this.load(t);
  }

  get currentView(): ConceptView | undefined {
    return this.view;
  }

  get currentTarget(): ConceptTarget {
    return this.target;
  }

  async load(t: ConceptTarget): Promise<ConceptView | undefined> {
    const seq = ++this.seq;
    this.target = t;
    this.panel.title = titleFor(t.concept);
    const saeName = this.fact.saes.displayName(t.model, t.sae);
    this.post({ type: 'loading', model: t.model, sae: t.sae, saeName, concept: t.concept });
    try {
      const r = await this.fact.concepts.concept(t.model, t.sae, t.concept);
      const atlas = await this.fact.concepts.readyAtlas(t.sae);
      if (seq !== this.seq || this.isDisposed) return undefined;
      const layer = atlas?.layer || (await this.fact.saes.list(t.model)).find((c) => c.dir === t.sae)?.layer || '';
      this.view = toConceptView(r, { ...t, saeName, layer }, atlas, readCardSummary(t.model)?.classes);
      this.post({ type: 'concept', view: this.view });
      log().info(
        `Concept ${t.concept} of ${t.sae}: in ${r.images} images, mean contribution ${r.meanContribution.toFixed(4)}${r.c2 !== undefined ? `, C² ${r.c2.toFixed(4)}` : ''}.`,
      );
      return this.view;
    } catch (e) {
      if (seq !== this.seq || this.isDisposed) return undefined;
      const message = (e as Error).message;
      if (!(isFactError(e) && e.code === 'cancelled')) log().error(`Concept ${t.concept} of ${t.sae}: ${message}`);
      this.view = undefined;
      this.post({ type: 'error', message, evaluate: /evaluat/i.test(message) });
      return undefined;
    }
  }

  protected override async onMessage(m: ConceptWebviewMessage): Promise<void> {
    const t = this.target;
    switch (m.type) {
      case 'showConcept':
        await this.load({ ...t, concept: m.concept });
        break;
      case 'pickConcept': {
        const c = await pickConcept(this.fact, t.model, t.sae);
        if (c !== undefined) await this.load({ ...t, concept: c });
        break;
      }
      case 'openConsistency':
        await this.fact.ui.executeCommand('fact.showConsistency', { model: t.model, sae: t.sae });
        break;
      case 'evaluate': {
        const r = await this.fact.ui.executeCommand('fact.evaluateSae', { model: t.model, sae: t.sae });
        if (r) await this.load(t);
        break;
      }
      case 'revealSae': {
        await revealPath(path.join(t.sae, checkpointFiles.cfg));
        break;
      }
    }
  }
}

function titleFor(concept: number): string {
  return `Concept ${concept}`;
}
