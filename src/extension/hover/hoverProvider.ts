// Hover previews in Python and TypeScript files, computed in the background and cached:
//   - over a layer name that has an SAE checkpoint for the active model (`layer3`, `self.layer4`, `features.norm5`,
//     `encoder_10`: the identifier or dotted path against the model's layer labels and aliases), the SAE's metrics
//     and its top concepts by mean contribution, each with a thumbnail of its top images and their traces;
//   - over a string literal that is an image's path (relative to the file or the workspace), the prediction and the
//     top concept contributions, with the leading concept's trace on the image.
// A hover never waits for a model: it shows what is ready (the checkpoint's numbers at once), starts what is missing
// in the background — once per key; the concept atlas through the shared concept service — and the next hover shows
// the rest.
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkpointFiles } from '../../core/sae/saeFolder';
import { escapeHtml, formatFixed, formatPercent, pngDataUri } from '../../../common/format';
import type { ModelInspection } from '../../core/model/inspectModel';
import { log } from '../log';
import { modelDisplayName } from '../models';
import { conceptsByContribution } from '../sae/saeFiles';
import type { Fact } from '../services';
import type { SaeCheckpointInfo } from '../tree/saeCheckpoints';
import { codeSpan, escapeMarkdown, matchLayer, pathAt, resolveImagePath, stringLiteralAt, type LayerName } from './hoverText';
import { fileThumbnail, squareThumbnail, stripThumbnail } from './thumbnails';

export const HOVER_LANGUAGES = ['python', 'typescript', 'typescriptreact', 'javascript'];
const TRUSTED_COMMANDS = ['fact.openConcept', 'fact.explainImage', 'fact.evaluateSae', 'fact.showConsistency', 'fact.selectSae'];

type Entry = { state: 'pending' | 'ready' | 'error'; md?: vscode.MarkdownString; error?: string; done: Promise<void> };

/** What the hovers computed, for tests: each key is computed at most once. */
export interface HoverStats {
  started: number;
  keys: string[];
}

function commandLink(label: string, command: string, arg: unknown): string {
  return `[${label}](command:${command}?${encodeURIComponent(JSON.stringify([arg]))})`;
}

function markdown(): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.supportHtml = true;
  md.isTrusted = { enabledCommands: TRUSTED_COMMANDS };
  return md;
}

const pct = formatPercent;
const num = (x: number, d = 3) => formatFixed(x, d);
const img = (b64: string, w: number, h: number, alt: string) =>
  `<img src="${pngDataUri(b64)}" width="${w}" height="${h}" alt="${escapeHtml(alt)}">`;

export class FactHoverProvider implements vscode.HoverProvider {
  private readonly entries = new Map<string, Entry>();
  private readonly inspections = new Map<string, Promise<ModelInspection>>();
  private readonly inspected = new Map<string, ModelInspection>();
  private started = 0;

  constructor(private readonly fact: Fact) {}

  stats(): HoverStats {
    return { started: this.started, keys: [...this.entries.keys()] };
  }

  /** Resolves when every background computation started so far has settled (tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.done));
  }

  clear(): void {
    this.entries.clear();
  }

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    if (!this.fact.ui.isTrusted()) return undefined;
    const line = doc.lineAt(pos.line).text;
    const lit = stringLiteralAt(line, pos.character);
    if (lit) {
      const roots = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
      const file = resolveImagePath(lit.text, doc.uri.scheme === 'file' ? path.dirname(doc.uri.fsPath) : undefined, roots);
      if (file) return this.imageHover(file, new vscode.Range(pos.line, lit.start, pos.line, lit.end));
    }
    const p = pathAt(line, pos.character);
    if (!p) return undefined;
    return this.layerHover(p.text, new vscode.Range(pos.line, p.start, pos.line, p.end));
  }

  /** Starts `compute` under `key` unless it already ran or runs. */
  private ensure(key: string, compute: () => Promise<vscode.MarkdownString>): Entry {
    const hit = this.entries.get(key);
    if (hit) return hit;
    this.started++;
    const e: Entry = { state: 'pending', done: Promise.resolve() };
    e.done = compute().then(
      (md) => {
        e.state = 'ready';
        e.md = md;
      },
      (err: Error) => {
        e.state = 'error';
        e.error = err.message;
        log().warn(`Hover preview (${key.split('\u0000')[0]}): ${err.message}`);
      },
    );
    this.entries.set(key, e);
    if (this.entries.size > 200) this.entries.delete(this.entries.keys().next().value!);
    return e;
  }

  // ── layers ────────────────────────────────────────────────────────────────────────────────────────────────────

  private inspection(model: string): Promise<ModelInspection> {
    let p = this.inspections.get(model);
    if (!p) {
      p = this.fact.core().call('inspect', { model });
      p.then(
        (r) => this.inspected.set(model, r),
        () => this.inspections.delete(model),
      );
      this.inspections.set(model, p);
    }
    return p;
  }

  private peekInspection(model: string): ModelInspection | undefined {
    void this.inspection(model).catch(() => undefined);
    return this.inspected.get(model);
  }

  private layerHover(text: string, range: vscode.Range): vscode.Hover | undefined {
    const model = this.fact.choices.model();
    if (!model || !existsSync(model)) return undefined;
    const checkpoints = this.fact.saes.peek(model);
    if (!checkpoints) {
      void this.fact.saes.list(model);
      return undefined;
    }
    const withLayer = checkpoints.filter((c) => c.layer && !c.problem);
    if (withLayer.length === 0) return undefined;
    // Labels from the checkpoints at once; aliases once the model's inspection (background, cached) is in.
    const insp = this.peekInspection(model);
    const names: LayerName[] = [...new Set(withLayer.map((c) => c.layer!))].map((label) => ({
      label,
      aliases: insp?.layers.find((l) => l.label === label)?.aliases ?? [],
    }));
    const layer = matchLayer(text, names);
    if (!layer) return undefined;
    const eff = this.fact.saes.peekEffective(model);
    const ckpt = withLayer.find((c) => c.dir === eff?.dir && c.layer === layer) ?? withLayer.find((c) => c.layer === layer)!;
    // What the checkpoint listing read (cfg.json, the cached evaluation and C² report) changes when any of them does.
    const stamp = `${(() => {
      try {
        return statSync(path.join(ckpt.dir, checkpointFiles.cfg)).mtimeMs;
      } catch {
        return 0;
      }
    })()}:${JSON.stringify([ckpt.has, ckpt.evaluation, ckpt.consistency])}`;
    const key = `layer\u0000${model}\u0000${ckpt.dir}\u0000${stamp}`;
    const e = this.ensure(key, () => this.layerDetails(model, ckpt, layer));
    if (e.state === 'ready' && e.md) return new vscode.Hover(e.md, range);
    const md = this.layerSummary(model, ckpt, layer);
    md.appendMarkdown(
      e.state === 'error'
        ? `\n\n_Top concepts unavailable: ${escapeMarkdown(e.error ?? '')}_`
        : '\n\n_$(sync~spin) Top concepts: reading the concept atlas in the background — hover again in a moment._',
    );
    return new vscode.Hover(md, range);
  }

  /** The part of a layer hover that is ready at once: the checkpoint's numbers from cfg.json. */
  private layerSummary(model: string, c: SaeCheckpointInfo, layer: string): vscode.MarkdownString {
    const md = markdown();
    const name = this.fact.saes.displayName(model, c.dir);
    md.appendMarkdown(
      `**FaCT** · SAE ${codeSpan(name)}${name !== layer ? ` on layer ${codeSpan(layer)}` : ''} of ${escapeMarkdown(modelDisplayName(model))}\n\n`,
    );
    const e = c.evaluation;
    const cs = c.consistency;
    const parts = [
      c.k !== undefined ? `k ${c.k}` : '',
      c.dictSize !== undefined ? `${c.dictSize.toLocaleString('en-US')} concepts` : '',
      e?.accuracyWithSae !== undefined
        ? `accuracy with the SAE **${pct(e.accuracyWithSae)}**${e.accuracy !== undefined ? ` (without ${pct(e.accuracy)})` : ''}`
        : '_not evaluated yet_',
      cs ? `mean C² **${cs.mean.toFixed(3)}**${cs.randomMean !== undefined ? ` (random ${cs.randomMean.toFixed(3)})` : ''}` : '',
      c.fvu ? `FVU ${num(c.fvu.value)}` : e?.relativeSquaredError !== undefined ? `rel. error ${num(e.relativeSquaredError)}` : '',
    ].filter(Boolean);
    md.appendMarkdown(`${parts.join(' · ')}\n`);
    return md;
  }

  private async layerDetails(model: string, c: SaeCheckpointInfo, layer: string): Promise<vscode.MarkdownString> {
    const md = this.layerSummary(model, c, layer);
    if (!c.has?.evaluation) {
      md.appendMarkdown(`\nIts concepts need an evaluation: ${commandLink('Evaluate SAE', 'fact.evaluateSae', { model, sae: c.dir })}`);
      return md;
    }
    const atlas = (await this.fact.concepts.readyAtlas(c.dir)) ?? (await this.fact.concepts.atlas(model, c.dir));
    const c2 = new Map((await this.fact.concepts.consistency(c.dir))?.report.concepts.map((x) => [x.concept, x.score]) ?? []);
    const alive = conceptsByContribution(atlas);
    const top = alive.slice(0, 4);
    md.appendMarkdown(`\n**Top concepts by mean contribution** (of ${alive.length.toLocaleString('en-US')} alive)\n\n`);
    md.appendMarkdown('| | concept | contrib. | in | C² | mostly |\n|---|---|---:|---:|---:|---|\n');
    for (const t of top) {
      let thumb = '';
      if (t.strip) {
        const png = await this.fact.concepts.readyStrip(c.dir, t);
        const b64 = png ? await stripThumbnail(png.toString('base64'), 3, 22) : undefined;
        if (b64) thumb = img(b64, 132, 22, `top images of concept ${t.concept}`);
      }
      md.appendMarkdown(
        `| ${thumb} | ${commandLink(`#${t.concept}`, 'fact.openConcept', { model, sae: c.dir, concept: t.concept })} | ${num(t.meanContribution)} | ${pct(t.frequency)} | ${c2.has(t.concept) ? num(c2.get(t.concept)!) : '—'} | ${escapeMarkdown(t.classes[0]?.name ?? '')} |\n`,
      );
    }
    md.appendMarkdown(
      `\n${commandLink('Open a concept…', 'fact.openConcept', { model, sae: c.dir })}${c.has?.consistency ? ` · ${commandLink('C² report', 'fact.showConsistency', { model, sae: c.dir })}` : ''}`,
    );
    return md;
  }

  // ── image paths ───────────────────────────────────────────────────────────────────────────────────────────────

  private imageHover(file: string, range: vscode.Range): vscode.Hover | undefined {
    const model = this.fact.choices.model();
    if (!model || !existsSync(model)) return undefined;
    const eff = this.fact.saes.peekEffective(model);
    if (!this.fact.saes.peek(model)) void this.fact.saes.list(model);
    const sae = eff?.dir;
    let mtime: number;
    try {
      mtime = statSync(file).mtimeMs;
    } catch {
      return undefined;
    }
    const key = `image\u0000${model}\u0000${sae ?? ''}\u0000${file}\u0000${mtime}`;
    const e = this.ensure(key, () => this.imageDetails(model, sae, file));
    if (e.state === 'ready' && e.md) return new vscode.Hover(e.md, range);
    const md = markdown();
    md.appendMarkdown(
      `**FaCT** · ${codeSpan(path.basename(file))} ${sae ? `through SAE ${codeSpan(this.fact.saes.displayName(model, sae))}` : `with ${escapeMarkdown(modelDisplayName(model))}`}\n\n`,
    );
    md.appendMarkdown(
      e.state === 'error'
        ? `_Could not explain it: ${escapeMarkdown(e.error ?? '')}_`
        : '_$(sync~spin) Explaining it in the background — hover again in a moment._',
    );
    return new vscode.Hover(md, range);
  }

  private async imageDetails(model: string, sae: string | undefined, file: string): Promise<vscode.MarkdownString> {
    const md = markdown();
    const open = commandLink('Explain…', 'fact.explainImage', { image: file, model });
    const input = await fileThumbnail(file, 48).catch(() => undefined);
    if (!sae) {
      const r = await this.fact.core().call('predict', { model, images: [file], top: 3 });
      const p = r.results[0];
      if (!p?.prediction) throw new Error(p?.error ?? 'no prediction');
      md.appendMarkdown(`**FaCT** · ${codeSpan(path.basename(file))} with ${escapeMarkdown(modelDisplayName(model))}\n\n`);
      if (input) md.appendMarkdown(`${img(input, 48, 48, 'the image')}\n\n`);
      md.appendMarkdown(
        `Predicted **${escapeMarkdown(p.prediction.top[0]?.name ?? '?')}** (${pct(p.prediction.top[0]?.probability ?? 0)})${p.prediction.top
          .slice(1)
          .map((t) => ` · ${escapeMarkdown(t.name)} ${pct(t.probability)}`)
          .join('')}\n\n`,
      );
      md.appendMarkdown(
        `_No SAE for this model: ${commandLink('choose one', 'fact.selectSae', { model })} to see its concepts._ · ${open}`,
      );
      return md;
    }
    const r = await this.fact.core().call('explainConcepts', { model, sae, image: file, topConcepts: 3 });
    const e = r.explanation;
    const name = this.fact.saes.displayName(model, sae);
    md.appendMarkdown(`**FaCT** · ${codeSpan(path.basename(file))} through SAE ${codeSpan(name)}\n\n`);
    const lead = e.traced[0];
    const leadThumb = lead ? await squareThumbnail(lead.png, 48, '#000000').catch(() => undefined) : undefined;
    const pics = [
      input ? img(input, 48, 48, 'the image') : '',
      leadThumb ? img(leadThumb, 48, 48, `trace of concept ${lead!.concept}`) : '',
    ]
      .filter(Boolean)
      .join(' ');
    const top = e.top[0];
    md.appendMarkdown(
      `${pics ? `${pics} ` : ''}Predicted **${escapeMarkdown(top?.name ?? '?')}** (${pct(top?.probability ?? 0)})${e.predictedWithoutSae !== top?.index ? ` — without the SAE: ${escapeMarkdown(e.top.find((t) => t.index === e.predictedWithoutSae)?.name ?? `class ${e.predictedWithoutSae}`)}` : ''}${lead ? ` · trace: concept ${lead.concept}` : ''}\n\n`,
    );
    md.appendMarkdown(`| concept | contribution | share |\n|---|---:|---:|\n`);
    for (const t of e.traced)
      md.appendMarkdown(
        `| ${commandLink(`#${t.concept}`, 'fact.openConcept', { model, sae, concept: t.concept })} | ${num(t.contribution)} | ${num(t.share, 1)} % |\n`,
      );
    if (e.other.concepts) md.appendMarkdown(`| ${e.other.concepts} other | ${num(e.other.contribution)} | ${num(e.other.share, 1)} % |\n`);
    const sum = e.concepts.reduce((a, c) => a + c.contribution, 0);
    md.appendMarkdown(`\nΣ c_k + bias = logit: ${num(sum)} + ${e.bias < 0 ? `(${num(e.bias)})` : num(e.bias)} = ${num(e.logit)} · ${open}`);
    return md;
  }
}
