// Concept-level costs on the default model with its shipped SAE: a decision explained through concepts (16 traces +
// others + full logit), the atlas build per concept, and C² per concept. There is no PyTorch implementation of
// these in this environment to compare with (FaCT's reference scripts need its checkpoints and DINOv2), so the
// reference here is the engine's own plain explanation of the same image (W(x) of the logit, no SAE).
import * as os from 'node:os';
import * as path from 'node:path';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { handlers } from '../src/core/jobs/methods';
import { CoreServices } from '../src/core/jobs/services';
import { benchSession } from './benchProvider';
import type { BenchRow } from './runOne';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

export async function run(report: (r: BenchRow) => void): Promise<void> {
  const root = path.join(__dirname, '..', 'models', 'fashion-mnist-bcos');
  const model = path.join(root, 'model.onnx');
  // Work on a copy of the checkpoint: the atlas and C² write beside it.
  const sae = mkdtempSync(path.join(os.tmpdir(), 'fact-bench-sae-'));
  cpSync(path.join(root, 'saes', 'layer3'), sae, { recursive: true });
  rmSync(path.join(sae, 'atlas'), { recursive: true, force: true });
  const services = new CoreServices(benchSession(2));
  const call = { signal: new AbortController().signal, progress: () => undefined };
  const image = path.join(root, 'samples', '0002-trouser.png');
  await handlers.explainConcepts({ model, sae, image }, services, call);
  const through: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < 10; i++) {
    let t = performance.now();
    await handlers.explainConcepts({ model, sae, image }, services, call);
    through.push(performance.now() - t);
    t = performance.now();
    await handlers.explain({ model, image }, services, call);
    plain.push(performance.now() - t);
  }
  report({ name: 'decision through concepts (16 traces, others, full)', ours: median(through), reference: median(plain), referenceName: 'the plain W(x) explanation', unit: 'ms', note: 'warm sessions, median of 10, PNGs rendered' });
  let t = performance.now();
  const atlas = await handlers.concepts({ model, sae, rebuild: true }, services, call);
  const atlasMs = performance.now() - t;
  report({ name: 'concept atlas build, per concept', ours: atlasMs / atlas.concepts, unit: 'ms', note: `${atlas.concepts} concepts (${atlas.alive} alive), ${(atlasMs / 1000).toFixed(1)} s in all` });
  t = performance.now();
  await handlers.concept({ model, sae, concept: 0 }, services, call);
  report({ name: 'open one concept from the atlas', ours: performance.now() - t, unit: 'ms' });
  t = performance.now();
  const c2 = await handlers.consistency({ model, sae, meanImages: 2000 }, services, call);
  const c2Ms = performance.now() - t;
  report({ name: 'C² per scored concept', ours: c2Ms / Math.max(1, c2.concepts.length), unit: 'ms', note: `${c2.concepts.length} concepts, mean C² ${c2.mean.toFixed(3)} vs random ${c2.randomMean.toFixed(3)}, ${(c2Ms / 1000).toFixed(1)} s in all` });
  await services.dispose();
  rmSync(sae, { recursive: true, force: true });
}
