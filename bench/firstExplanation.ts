// One process's first explanation, for explain.bench.ts: opens the model, then times Explainer.create + the first
// explanation (batch 1) with the explanation-graph cache in the folder given. Prints one JSON line.
//   node --import tsx bench/firstExplanation.ts MODEL.onnx CACHE_DIR BATCH.f32
import { readFileSync } from 'node:fs';
import { Explainer } from '../src/core/engine/explainer';
import { openModel } from '../src/core/model/modelContext';
import { benchSession } from './benchProvider';

async function main(): Promise<void> {
  const [file, cache, batchFile] = process.argv.slice(2) as [string, string, string];
  let t = performance.now();
  const ctx = await openModel(file);
  const openMs = performance.now() - t;
  const { channels, height, width } = ctx.imageInput;
  const side = ctx.preprocess.centerCrop;
  const per = channels * (height ?? side) * (width ?? side);
  const b = readFileSync(batchFile);
  const one = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + 4 * per));
  const cpu0 = process.cpuUsage();
  t = performance.now();
  const explainer = await Explainer.create(ctx, { ...benchSession(2), graphCache: cache });
  await explainer.explain(one, 1);
  const firstMs = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  await explainer.dispose();
  console.log(JSON.stringify({ openMs, firstMs, cpuMs: (cpu.user + cpu.system) / 1000 }));
}

void main();
