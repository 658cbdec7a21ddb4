// The concept atlas (`fact concepts`): per concept of an SAE, from the evaluation's saved presence and
// contributions — frequency, mean presence and contribution, the classes it contributes to most — and its top
// images by presence, each with its input trace and a crop around the trace's mass. Written to the checkpoint's
// derived folder (atlas/atlas.json + one PNG strip per concept; src/core/sae/saeFolder.ts) so the editor opens a
// concept at once; it records the checkpoint's and the evaluation's hashes and is rebuilt when either changes.
import sharp from 'sharp';
import { FactError, throwIfAborted } from '../errors';
import type { Dataset } from '../data/dataset';
import { preprocessImage } from '../data/preprocess';
import type { Explainer } from '../engine/explainer';
import type { EvaluationRecords } from '../evaluate/evaluationFile';
import { layerLayout } from '../evaluate/layerLayout';
import type { SaeCodesFn } from '../evaluate/saeCodes';
import { className, type ModelContext } from '../model/modelContext';
import { resolveModelLayer } from '../model/modelLayers';
import type { ModelRunner } from '../model/modelRunner';
import { explanationToRgba, traceOnBlack } from '../render/colorMap';
import { inputToRgba, toRgba8 } from '../render/png';
import type { SaeWeights } from '../sae/saeConfig';
import { presenceTracesOfImages } from './presenceTraces';
import { cropAroundMass, type Crop } from './traceCrop';
import { faultPoint } from '../util/faultPoint';

export interface AtlasImage {
  row: number;
  image: number;
  presence: number;
  contribution: number;
  label: number;
  predicted: number;
  crop: Crop;
}

export interface AtlasConcept {
  concept: number;
  /** Share of evaluated images where the concept is present. */
  frequency: number;
  images: number;
  meanPresence: number;
  meanContribution: number;
  /** Σ contribution per explained (predicted) class, largest first. */
  classes: { index: number; name: string; contribution: number }[];
  top: AtlasImage[];
  /** The PNG strip (inputs above, traces below), relative to the atlas folder. */
  strip?: string;
}

export interface Atlas {
  format: 1;
  checkpointSha256: string;
  evaluationSha256: string;
  layer: string;
  dictSize: number;
  imagesEvaluated: number;
  side: number;
  cell: number;
  concepts: AtlasConcept[];
  builtAt: string;
  seconds: number;
}

/** Input values per batched trace run (about 8 ImageNet-sized pairs, 128 small ones): enough to amortise a run's
 *  fixed cost, little enough for memory. */
const valuesPerRun = 1 << 21;

export function atlasConcept(atlas: Atlas, concept: number): AtlasConcept {
  if (!Number.isInteger(concept) || concept < 0 || concept >= atlas.dictSize) {
    throw new FactError('bad-input', `Concept ${concept} is out of range: this SAE has concepts 0–${atlas.dictSize - 1}.`);
  }
  return atlas.concepts[concept]!;
}

/** Where the atlas's files go (src/core/sae/saeFolder.ts decides): the strips first, atlas.json last. */
/** The atlas folder's subfolder of strip PNGs. */
export const atlasStripsFolder = 'concepts';

export interface AtlasWriter {
  /** Before the first strip: clears what an earlier build that was killed left half-written. */
  begin(): Promise<void>;
  /** `name` is relative to the atlas folder ('concepts/00042.png'). */
  strip(name: string, png: Uint8Array): Promise<void>;
  index(atlas: Atlas): Promise<void>;
}

export interface AtlasOptions {
  writer: AtlasWriter;
  checkpointSha256: string;
  evaluationSha256: string;
  sae: SaeWeights;
  /** The SAE's codes (the reconstruction is not needed). */
  encode: SaeCodesFn;
  records: EvaluationRecords;
  dataset: Dataset;
  topImages?: number;
  signal?: AbortSignal;
  /** Tracing the top images (done of total images), then drawing the strips (done of total strips written). */
  onProgress?: (done: number, total: number, stage: 'tracing' | 'drawing') => void;
}

export async function buildAtlas(ctx: ModelContext, runner: ModelRunner, explainer: Explainer, opts: AtlasOptions): Promise<Atlas> {
  const t0 = Date.now();
  const { records: r, sae } = opts;
  const K = sae.cfg.dictSize;
  const n = r.label.length;
  const topN = opts.topImages ?? 16;
  const layer = resolveModelLayer(ctx, sae.cfg.layer);
  const layout = layerLayout(explainer.shapeOf(layer.tensor).slice(1));
  const stats = Array.from({ length: K }, () => ({
    images: 0,
    presence: 0,
    contribution: 0,
    perClass: new Map<number, number>(),
    top: [] as { row: number; presence: number; contribution: number }[],
  }));
  for (let i = 0; i < n; i++) {
    for (let t = r.indptr[i]!; t < r.indptr[i + 1]!; t++) {
      const c = r.concept[t]!;
      if (c >= K)
        throw new FactError('bad-store', `The evaluation records name concept ${c}, but the SAE has ${K}: evaluate this checkpoint again.`);
      const s = stats[c]!;
      s.images++;
      s.presence += r.presence[t]!;
      s.contribution += r.contribution[t]!;
      s.perClass.set(r.predicted[i]!, (s.perClass.get(r.predicted[i]!) ?? 0) + r.contribution[t]!);
      // Keep the top presences in a small sorted list (K × topN entries at most); a tie goes after the earlier image.
      const presence = r.presence[t]!;
      if (s.top.length < topN || presence > s.top[s.top.length - 1]!.presence) {
        let at = s.top.length;
        while (at > 0 && s.top[at - 1]!.presence < presence) at--;
        s.top.splice(at, 0, { row: i, presence, contribution: r.contribution[t]! });
        if (s.top.length > topN) s.top.pop();
      }
    }
  }
  await opts.writer.begin();
  // Trace every (image, concept) pair of the top lists, in batched runs of pairs.
  const perImage = new Map<number, number[]>();
  stats.forEach((s, c) => s.top.forEach((t) => (perImage.get(t.row) ?? perImage.set(t.row, []).get(t.row)!).push(c)));
  const side = ctx.preprocess.centerCrop;
  const cell = Math.max(1, Math.floor(96 / side)) * side;
  const channels = explainer.explained.channels;
  const traces = new Map<string, { trace: Uint8Array; crop: Crop }>();
  const inputs = new Map<number, Uint8Array>();
  const cot = { wEnc: sae.wEnc, wDec: sae.wDec, dictSize: K };
  let done = 0;
  // Images in chunks of about `pairsPerRun` (image, concept) pairs: one batched trace run per chunk.
  const pending = [...perImage];
  const pairsPerRun = Math.max(1, Math.min(128, Math.floor(valuesPerRun / (channels * side * side))));
  while (pending.length) {
    throwIfAborted(opts.signal, 'Building the concept atlas');
    const chunk: [number, number[]][] = [];
    for (let pairs = 0; pending.length && (chunk.length === 0 || pairs + pending[0]![1].length <= pairsPerRun);) {
      const next = pending.shift()!;
      pairs += next[1].length;
      chunk.push(next);
    }
    const images = await Promise.all(
      chunk.map(async ([row, concepts]) => ({
        x: preprocessImage(await opts.dataset.image(r.imageIndex[row]!), ctx.preprocess),
        concepts,
      })),
    );
    const traced = await presenceTracesOfImages(ctx, runner, explainer, layer.tensor, layout, cot, opts.encode, images);
    chunk.forEach(([row, concepts], k) => {
      const t = traced[k]!;
      inputs.set(row, toRgba8(inputToRgba(t.input, channels, side, side)));
      concepts.forEach((c, i) => {
        traces.set(`${c}:${row}`, {
          trace: toRgba8(traceOnBlack(explanationToRgba(t.traces[i]!, t.input, channels, side, side))),
          crop: cropAroundMass(t.maps[i]!, side),
        });
      });
    });
    done += chunk.length;
    faultPoint('atlas:traced');
    opts.onProgress?.(done, perImage.size, 'tracing');
  }
  const concepts: AtlasConcept[] = [];
  const strips: Promise<void>[] = [];
  const toDraw = stats.filter((s) => s.top.length > 0).length;
  let drawn = 0;
  for (let c = 0; c < K; c++) {
    const s = stats[c]!;
    const top: AtlasImage[] = s.top.map((t) => ({
      row: t.row,
      image: r.imageIndex[t.row]!,
      presence: t.presence,
      contribution: t.contribution,
      label: r.label[t.row]!,
      predicted: r.predicted[t.row]!,
      crop: traces.get(`${c}:${t.row}`)!.crop,
    }));
    const entry: AtlasConcept = {
      concept: c,
      frequency: s.images / n,
      images: s.images,
      meanPresence: s.images ? s.presence / s.images : 0,
      meanContribution: s.images ? s.contribution / s.images : 0,
      classes: [...s.perClass.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([index, contribution]) => ({ index, name: className(ctx, index), contribution })),
      top,
    };
    if (top.length) {
      const file = `${atlasStripsFolder}/${String(c).padStart(5, '0')}.png`;
      // PNG encoding runs on libuv's pool: keep a few strips in flight so every core encodes.
      const written = strip(
        top.map((t) => inputs.get(t.row)!),
        top.map((t) => traces.get(`${c}:${t.row}`)!.trace),
        side,
        cell,
      )
        .then((png) => opts.writer.strip(file, png))
        .then(() => {
          faultPoint('atlas:strip-written');
          opts.onProgress?.(++drawn, toDraw, 'drawing');
        });
      written.catch(() => undefined); // handled when awaited below; a failure must not surface as an unhandled rejection first
      strips.push(written);
      if (strips.length >= 8) await Promise.all(strips.splice(0));
      entry.strip = file;
    }
    concepts.push(entry);
  }
  await Promise.all(strips);
  const atlas: Atlas = {
    format: 1,
    checkpointSha256: opts.checkpointSha256,
    evaluationSha256: opts.evaluationSha256,
    layer: sae.cfg.layer,
    dictSize: K,
    imagesEvaluated: n,
    side,
    cell,
    concepts,
    builtAt: new Date().toISOString(),
    seconds: (Date.now() - t0) / 1000,
  };
  await opts.writer.index(atlas);
  return atlas;
}

/** Inputs in the top row, their traces (on black) below, each `cell` pixels square (nearest-neighbour upscaling),
 *  composed in memory and encoded once. Every pixel is opaque, so the PNG is RGB (the same picture as RGBA, a quarter
 *  fewer bytes to filter), at zlib level 3: a third of the default level's CPU time for strips about 15 % larger. */
async function strip(inputs: Uint8Array[], traces: Uint8Array[], side: number, cell: number): Promise<Buffer> {
  const width = cell * inputs.length;
  const out = new Uint8Array(width * 2 * cell * 3);
  // Output column x shows source column ⌊x / scale⌋ (scale = cell / side); output row y shows source row ⌊y / scale⌋.
  const scale = cell / side;
  const sourceColumn = Int32Array.from({ length: cell }, (_, x) => Math.floor(x / scale));
  const source = new Uint8Array(side * 3);
  const line = new Uint8Array(cell * 3);
  const put = (rgba: Uint8Array, col: number, row: number, onBlack: boolean) => {
    for (let sy = 0; sy < side; sy++) {
      // The source row (composited on black where asked), upscaled into one line, copied to the rows it covers.
      for (let sx = 0; sx < side; sx++) {
        const src = (sy * side + sx) * 4;
        const a = onBlack ? rgba[src + 3]! / 255 : 1;
        source[3 * sx] = Math.round(rgba[src]! * a);
        source[3 * sx + 1] = Math.round(rgba[src + 1]! * a);
        source[3 * sx + 2] = Math.round(rgba[src + 2]! * a);
      }
      for (let x = 0; x < cell; x++) {
        const s = 3 * sourceColumn[x]!;
        line[3 * x] = source[s]!;
        line[3 * x + 1] = source[s + 1]!;
        line[3 * x + 2] = source[s + 2]!;
      }
      for (let y = Math.ceil(sy * scale); y < cell && Math.floor(y / scale) === sy; y++)
        out.set(line, ((row * cell + y) * width + col * cell) * 3);
    }
  };
  inputs.forEach((img, i) => put(img, i, 0, false));
  traces.forEach((t, i) => put(t, i, 1, true));
  return sharp(out, { raw: { width, height: 2 * cell, channels: 3 } })
    .png({ compressionLevel: 3 })
    .toBuffer();
}
