// `fact plan`: measures this machine's collection and SAE-training throughput for a model and layer, and projects
// a collection over a dataset of any size on 1..N nodes and its training on one node (or uses the GPU figures given).
import { defaultSamplesPerImage } from '../core/features/sampleLocations';
import type { CoreServices } from '../core/jobs/services';
import { formatDuration, projectPlan } from '../core/plan/projectPlan';
import { measureCollection, measureTraining } from '../core/plan/measureThroughput';
import { UsageError, type Parsed } from './options';
import type { planOptions } from './planOptions';

interface PlanIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** `--nodes 1,8,64`: the one list option, parsed here. */
function nodeCounts(v: string | undefined): number[] {
  return (v ?? '1,8,64').split(',').map((t) => {
    const n = Number(t);
    if (t.trim() === '' || !Number.isInteger(n) || n < 1)
      throw new UsageError(`--nodes must be a comma-separated list of node counts ≥ 1, not '${v}'.`, 'plan');
    return n;
  });
}

export async function runPlan(args: Parsed<typeof planOptions>, services: CoreServices, io: PlanIO, json: boolean): Promise<number> {
  const [model, ...extra] = args.positional;
  const o = args.options;
  if (!model || extra.length) throw new UsageError('fact plan takes one MODEL.', 'plan');
  const images = o['dataset-size'];
  const nodes = nodeCounts(o.nodes);
  const k = o.k ?? 32,
    dictSize = o['dict-size'] ?? 8192,
    epochs = o.epochs ?? 1,
    batchSize = o.batch ?? 4096;
  const ctx = await services.model(model);
  const explainer = await services.explainer(model);
  io.err('Measuring collection throughput…');
  const probe = await measureCollection(ctx, explainer, o.layer, { batchSize: 8, batches: 2, samplesPerImage: 1 });
  const samples = Math.min(probe.locations, o.samples ?? defaultSamplesPerImage(probe.dim, probe.locations));
  const cpuImages = probe.imagesPerSecond;
  io.err(`  ${cpuImages.toFixed(3)} images/s`);
  io.err('Measuring SAE training throughput…');
  const cpuVectors = await measureTraining({
    dim: probe.dim,
    k,
    dictSize,
    batchSize: Math.min(batchSize, 256),
    steps: 3,
    ...(services.options.threads ? { threads: services.options.threads } : {}),
  });
  io.err(`  ${Math.round(cpuVectors)} vectors/s`);
  const collectRate = o['gpu-images-per-s'] ?? cpuImages;
  const trainRate = o['gpu-vectors-per-s'] ?? cpuVectors;
  const plan = projectPlan({
    images,
    samplesPerImage: samples,
    dim: probe.dim,
    nodes,
    collectImagesPerSecond: collectRate,
    trainVectorsPerSecond: trainRate,
    dictSize,
    epochs,
    batchSize,
    shuffleWindow: 4,
    shardVectors: 65536,
  });
  const measured = {
    date: new Date().toISOString().slice(0, 10),
    threads: services.options.threads ?? 'default',
    cpuImagesPerSecond: cpuImages,
    cpuVectorsPerSecond: cpuVectors,
    ...(o['gpu-images-per-s'] ? { gpuImagesPerSecond: collectRate } : {}),
    ...(o['gpu-vectors-per-s'] ? { gpuVectorsPerSecond: trainRate } : {}),
  };
  if (json) {
    io.out(
      JSON.stringify(
        { model, layer: o.layer, images, samplesPerImage: samples, dim: probe.dim, k, dictSize, epochs, measured, ...plan },
        null,
        2,
      ),
    );
    return 0;
  }
  const gb = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  io.out(
    [
      `Plan: ${model} layer ${o.layer} (${probe.dim} channels × ${probe.locations} locations), ${images} images × ${samples} samples = ${plan.vectors.toExponential(2)} vectors`,
      `Measured ${measured.date} on this machine (${String(measured.threads)} threads): collection ${cpuImages.toFixed(2)} images/s, SAE training (k ${k}, ${dictSize} concepts) ${Math.round(cpuVectors)} vectors/s${o['gpu-images-per-s'] || o['gpu-vectors-per-s'] ? `; projected with the given GPU figures (${collectRate} images/s, ${trainRate} vectors/s)` : ''}`,
      '',
      '| nodes | collection wall time | store fp16 | store fp32 | part per node (fp16) |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...plan.rows.map(
        (r) =>
          `| ${r.nodes} | ${formatDuration(r.collectSeconds)} | ${gb(plan.storeGB.float16)} GB | ${gb(plan.storeGB.float32)} GB | ${gb(r.partGB.float16)} GB |`,
      ),
      '',
      `Training on one node: ${epochs} epoch(s) ${formatDuration(plan.trainSeconds)}, RAM ≈ ${plan.trainRamGB.toFixed(1)} GB, disk ${gb(plan.trainDiskGB.float16)} GB (fp16 store) / ${gb(plan.trainDiskGB.float32)} GB (fp32)`,
    ].join('\n'),
  );
  return 0;
}
