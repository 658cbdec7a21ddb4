// Concept-level costs on the default model with its shipped SAE: a decision explained through concepts (16 traces +
// others + full logit), the atlas build per concept, and C² per concept. There is no PyTorch implementation of
// these in this environment to compare with (FaCT's reference scripts need its checkpoints and DINOv2), so the
// reference here is the engine's own plain explanation of the same image (W(x) of the logit, no SAE).
import * as os from 'node:os';
import * as path from 'node:path';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { handlers } from '../src/core/jobs/methods';
import { CoreServices } from '../src/core/jobs/services';
import { benchSession } from './benchProvider';
import type { BenchRow } from './runOne';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

export async function run(report: (r: BenchRow) => void): Promise<void> {
  const root = path.join(__dirname, '..', 'models', 'fashion-mnist-bcos');
  const model = path.join(root, 'model.onnx');
  // Work on a copy of the checkpoint, with a temporary cache for what is derived from it (evaluation, atlas, C²):
  // the bench never writes into the user's cache, and every run starts from what a fresh clone has.
  const sae = mkdtempSync(path.join(os.tmpdir(), 'fact-bench-sae-'));
  cpSync(path.join(root, 'saes', 'layer3'), sae, { recursive: true });
  rmSync(path.join(sae, 'atlas'), { recursive: true, force: true });
  const cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'fact-bench-cache-'));
  const services = new CoreServices({ ...benchSession(2), cacheRoot });
  const call = { signal: new AbortController().signal, progress: () => undefined };
  // The per-image evaluation records are git-ignored (28 MB): a fresh clone evaluates first, as a user would.
  if (!existsSync(path.join(sae, 'evaluation.safetensors'))) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const ev = await handlers.evaluate({ model, sae }, services, call);
    const cpu = process.cpuUsage(c0);
    report({
      name: 'evaluate the SAE on the test split, per image',
      ours: (performance.now() - t0) / ev.metrics.images,
      unit: 'ms',
      note: `${ev.metrics.images} images, ${((performance.now() - t0) / 1000).toFixed(1)} s in all (this process's CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s); load avg ${os.loadavg()[0]!.toFixed(1)}`,
    });
  }
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
  report({
    name: 'decision through concepts (16 traces, others, full)',
    ours: median(through),
    reference: median(plain),
    referenceName: 'the plain W(x) explanation',
    unit: 'ms',
    note: 'warm sessions, median of 10, PNGs rendered',
  });
  let t = performance.now();
  const c0 = process.cpuUsage();
  const atlas = await handlers.concepts({ model, sae, rebuild: true }, services, call);
  const atlasMs = performance.now() - t;
  const cpu = process.cpuUsage(c0);
  report({
    name: `concept atlas build, ${atlas.concepts} concepts`,
    ours: atlasMs / 1000,
    unit: 's',
    note: `${atlas.alive} alive; this process's CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (wall ≫ CPU means the shared machine was busy); load avg ${os.loadavg()[0]!.toFixed(1)}`,
  });
  t = performance.now();
  await handlers.concept({ model, sae, concept: 0 }, services, call);
  report({ name: 'open one concept from the atlas', ours: performance.now() - t, unit: 'ms' });
  t = performance.now();
  const c2 = await handlers.consistency({ model, sae, meanImages: 2000 }, services, call);
  const c2Ms = performance.now() - t;
  report({
    name: 'C² per scored concept',
    ours: c2Ms / Math.max(1, c2.concepts.length),
    unit: 'ms',
    note: `${c2.concepts.length} concepts, mean C² ${c2.mean.toFixed(3)} vs random ${c2.randomMean.toFixed(3)}, ${(c2Ms / 1000).toFixed(1)} s in all`,
  });
  await services.dispose();
  rmSync(sae, { recursive: true, force: true });
  rmSync(cacheRoot, { recursive: true, force: true });
}
