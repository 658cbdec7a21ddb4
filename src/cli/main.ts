// `fact` — the headless face of FaCT. Argument parsing and printing only; the work is done by src/core.
import { isFactError } from '../core/errors';
import { fileSystemError } from '../core/util/fileSystemError';
import { handlers, type CallContext } from '../core/jobs/methods';
import { CoreServices } from '../core/jobs/services';
import { chooseAutoProvider, probeAllProviders } from '../core/onnx/devices';
import { ranOnLine, trackProviders } from '../core/onnx/providerUsage';
import { executionProviders, type RequestedProvider } from '../core/onnx/session';
import { parseArgs, UsageError } from './args';
import { readNumericOptions } from './options';
import { runJobs, runMerge, slurmFlags, slurmUsage, slurmValues, submitToSlurm } from './slurm';
import { planUsage, planValues, runPlan } from './plan';
import { formatCheck, formatConcept, formatConsistency, formatDecision, formatDevices, formatEvaluation, formatExplanation, formatInspection, formatManifest, formatPredictions, formatTraining, stripPngs } from './format';
import type { DatasetSpec } from '../core/data/openDataset';
import type { FeatureDtype } from '../core/features/manifest';
import { saeInits } from '../core/sae/saeConfig';

const USAGE = `fact — Faithful Concept Traces for B-cos models

Usage:
  fact inspect MODEL [--all] [--json]            inputs, outputs and candidate SAE layers of an ONNX model
  fact predict MODEL IMAGE... [--top K] [--json] top classes with logits for each image
  fact explain MODEL IMAGE [--class C] [--out DIR] [--json]
                                                 exact B-cos explanation of one image: the colour
                                                 explanation PNG, the logit, bias, contribution sum and
                                                 completeness error (C: class index or name; default:
                                                 the predicted class)
  fact explain MODEL IMAGE... --sae CKPT [--class C] [--html OUT] [--top N]
                                                 the decision through the SAE's concepts: prediction,
                                                 each concept's contribution and share, traces of the
                                                 top concepts, completeness; --html writes a report
  fact check MODEL [IMAGE...] [--json]           is the model dynamic-linear? what was frozen, and the
                                                 worst completeness error on the images (or random ones)
  fact collect MODEL --layer L --out DIR [--data FOLDER | --images IDX --labels IDX | --split NAME]
               [--dtype float32|float16] [--samples N] [--budget-gb X] [--shard-size N] [--limit N]
                                                 sample layer features into a chunked store (resumes
                                                 when DIR already holds a partial store of the same job;
                                                 default data: the model card's "train" split)
  fact train MODEL --features STORE --out CKPT --k K --dict-size M [--epochs E] [--batch B] [--lr LR]
             [--seed S] [--validate-split NAME --validate-from I --validate-count N] [--skip-damaged]
             [--overwrite] [--allow-incomplete] [--init isotropic|fact] [--state-every SECONDS]
                                                 train a bias-free TopK SAE (resumes from CKPT's state,
                                                 saved every epoch and every --state-every s, default 180;
                                                 same seed and --threads: byte-identical weights; a
                                                 finished CKPT is retrained only with --overwrite; a
                                                 store whose collection did not finish only with
                                                 --allow-incomplete)
  fact evaluate MODEL --sae CKPT [--data FOLDER | --images IDX --labels IDX | --split NAME] [--limit N] [--out DIR]
                                                 accuracy with the SAE, L0, coverage, alive concepts;
                                                 saves presence and contributions in the cache
  fact concepts MODEL --sae CKPT [--concept K] [--rebuild] [--out DIR]
                                                 build (or read) the concept atlas in the cache
                                                 (evaluating first when needed); --concept shows one
  fact consistency MODEL --sae CKPT [--foundation FILE.onnx] [--mean-images N] [--out DIR]
                                                 C² score of every concept, the random baseline, Δ_rand
  fact devices [--json]                          the execution providers available here (each probed with
                                                 a tiny graph), their adapters, and what to install
${slurmUsage}
${planUsage}

  What evaluate, concepts and consistency derive from CKPT goes to a cache keyed by the model's and the
  checkpoint's content ($FACT_CACHE, else $XDG_CACHE_HOME/fact-vscode, else ~/.cache/fact-vscode), or
  to --out DIR (give the same --out to the later commands); CKPT itself is only read.

Options:
  --json                 machine-readable output on stdout
  --ep auto|cpu|cuda|webgpu
                         execution provider (default auto: a real GPU when one works, never a software
                         adapter; a provider that cannot start falls back to cpu, saying why)
  --cuda-libs DIR        the folder with onnxruntime's CUDA provider libraries, to check and report
  --threads N            intra-op threads (training: default all cores)
  --range A:B            (collect) only images A..B-1, into a part-store (what a Slurm task runs)
  --help                 this text

Exit codes: 0 success, 1 bad input or a model that is not dynamic-linear (the message says which
            file or node and why), 2 usage error, 3 some images could not be processed (the others'
            results are printed).`;

export interface CliIO { out: (s: string) => void; err: (s: string) => void }

const defaultIO: CliIO = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) };

export async function runCli(argv: string[], io: CliIO = defaultIO): Promise<number> {
  // Text output ends with where the work ran (JSON results carry it as fields).
  const { value: code, ranOn } = await trackProviders(() => runCommand(argv, io));
  const line = ranOnLine(ranOn);
  if (line && (code === 0 || code === 3) && !argv.includes('--json')) io.out(line);
  return code;
}

async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') { io.out(USAGE); return command ? 0 : 2; }
  let services: CoreServices | undefined;
  let json = false;
  try {
    const args = parseArgs(rest, { flags: ['json', 'all', 'help', 'skip-damaged', 'rebuild', 'overwrite', 'allow-incomplete', ...slurmFlags], values: [...slurmValues, ...planValues, 'range', 'top', 'ep', 'threads', 'class', 'out', 'layer', 'data', 'images', 'labels', 'split', 'dtype', 'samples', 'budget-gb', 'shard-size', 'limit', 'seed', 'sae', 'html', 'features', 'k', 'dict-size', 'epochs', 'batch', 'lr', 'validate-split', 'validate-from', 'validate-count', 'concept', 'foundation', 'mean-images', 'cuda-libs', 'init', 'state-every'] });
    json = args.options.json === true;
    const num = readNumericOptions(args.options);
    const ep = (args.options.ep ?? 'auto') as RequestedProvider;
    if (!executionProviders.includes(ep)) throw new UsageError(`--ep must be one of ${executionProviders.join(', ')}.`);
    const threads = args.options.threads ? num['threads']! : undefined;
    const cudaLibraryPath = args.options['cuda-libs'] as string | undefined;
    services = new CoreServices({ executionProvider: ep, ...(threads ? { threads } : {}), ...(cudaLibraryPath ? { cudaLibraryPath } : {}) });
    const abort = new AbortController();
    const onSignal = () => { io.err('\nStopping (the job can be resumed)…'); abort.abort(); };
    process.once('SIGINT', onSignal);
    // Slurm stops a job (scancel, time limit, preemption) with SIGTERM: the same orderly, resumable stop.
    process.once('SIGTERM', onSignal);
    const call: CallContext = { signal: abort.signal, progress: (m) => { if (!json) io.err(m); } };
    if (command === 'merge') return await runMerge(args.positional, io, json, abort.signal);
    if (command === 'jobs') return await runJobs(args.positional, io, json);
    if (command === 'plan') return await runPlan(args, services, io, json);
    if (args.options.slurm) {
      if (!['collect', 'train', 'evaluate', 'consistency'].includes(command)) throw new UsageError(`--slurm works with collect, train, evaluate and consistency, not ${command}.`);
      if (!args.positional[0]) throw new UsageError(`fact ${command} --slurm takes a MODEL.`);
      if (command === 'collect' && !args.options.out) throw new UsageError('fact collect --slurm takes --out STORE.');
      if (command === 'train' && !args.options.out) throw new UsageError('fact train --slurm takes --out CKPT.');
      if ((command === 'evaluate' || command === 'consistency') && !args.options.sae) throw new UsageError(`fact ${command} --slurm takes --sae CKPT.`);
      return await submitToSlurm(command, rest, args, services, () => datasetOf(args.options), io, json);
    }
    switch (command) {
      case 'inspect': {
        const [model, ...extra] = args.positional;
        if (!model || extra.length) throw new UsageError('fact inspect takes exactly one MODEL.');
        const r = await handlers.inspect({ model }, services, call);
        io.out(json ? JSON.stringify(r, null, 2) : formatInspection(r, args.options.all === true));
        return 0;
      }
      case 'predict': {
        const [model, ...images] = args.positional;
        if (!model || images.length === 0) throw new UsageError('fact predict takes a MODEL and at least one IMAGE.');
        const top = args.options.top ? num['top']! : 5;
        const r = await handlers.predict({ model, images, top }, services, call);
        io.out(json ? JSON.stringify(r, null, 2) : formatPredictions(r.results));
        const failed = r.results.filter((x) => x.error);
        for (const f of failed) io.err(`error: ${f.error}`);
        return failed.length ? 3 : 0;
      }
      case 'explain': {
        const [model, image, ...extra] = args.positional;
        if (args.options.sae && model && image && extra.length && args.options.class === undefined) {
          // Several images through concepts: one combined report.
          const r = await handlers.explainConceptsReport({
            model, sae: args.options.sae as string, images: [image, ...extra], ...(args.options.html ? { html: args.options.html as string } : {}),
            ...(args.options.top ? { topConcepts: num['top']! } : {}),
          }, services, call);
          io.out(json ? JSON.stringify(stripPngs(r), null, 2) : [...r.results.map(formatDecision), ...(r.html ? [`Report: ${r.html}`] : [])].join('\n\n'));
          return 0;
        }
        if (!model || !image || extra.length) throw new UsageError('fact explain takes a MODEL and one IMAGE (several with --sae).');
        const classIndex = args.options.class ? await resolveClass(services, model, args.options.class as string) : undefined;
        if (args.options.sae) {
          const r = await handlers.explainConcepts({
            model, image, sae: args.options.sae as string, ...(classIndex !== undefined ? { classIndex } : {}),
            ...(args.options.html ? { html: args.options.html as string } : {}), ...(args.options.top ? { topConcepts: num['top']! } : {}),
          }, services, call);
          io.out(json ? JSON.stringify(stripPngs(r), null, 2) : formatDecision(r));
          return 0;
        }
        const outDir = (args.options.out as string | undefined) ?? '.';
        const r = await handlers.explain({ model, image, outDir, ...(classIndex !== undefined ? { classIndex } : {}) }, services, call);
        if (json) {
          const { png: _png, ...rest } = r;
          io.out(JSON.stringify(rest, null, 2));
        } else io.out(formatExplanation(r));
        return 0;
      }
      case 'collect': {
        const [model, ...extra] = args.positional;
        const layer = args.options.layer as string | undefined;
        const outDir = args.options.out as string | undefined;
        if (!model || extra.length || !layer || !outDir) throw new UsageError('fact collect takes a MODEL, --layer L and --out DIR.');
        const o = args.options;
        const dataset = datasetOf(o);
        const dtype = (o.dtype ?? 'float32') as FeatureDtype;
        if (dtype !== 'float32' && dtype !== 'float16') throw new UsageError('--dtype must be float32 or float16.');
        const m = await handlers.collect({
          model, layer, dataset, outDir, dtype,
          ...(o.samples ? { samplesPerImage: num['samples']! } : {}),
          ...(o['budget-gb'] ? { budgetGB: num['budget-gb']! } : {}),
          ...(o['shard-size'] ? { shardVectors: num['shard-size']! } : {}),
          ...(o.limit ? { limit: num['limit']! } : {}),
          ...(o.seed ? { seed: num.seed! } : {}),
          ...(o.range ? { range: imageRange(o.range as string) } : {}),
        }, services, call);
        io.out(json ? JSON.stringify(m, null, 2) : formatManifest(m, outDir));
        return m.skipped.length ? 3 : 0;
      }
      case 'train': {
        const [model, ...extra] = args.positional;
        const o = args.options;
        if (!model || extra.length || !o.features || !o.out || !o.k || !o['dict-size']) throw new UsageError('fact train takes a MODEL, --features STORE, --out CKPT, --k K and --dict-size M.');
        const r = await handlers.train({
          model, features: o.features as string, out: o.out as string, k: num['k']!, dictSize: num['dict-size']!,
          ...(o.epochs ? { epochs: num['epochs']! } : {}), ...(o.batch ? { batchSize: num['batch']! } : {}),
          ...(o.lr ? { lr: num['lr']! } : {}), ...(o.seed ? { seed: num.seed! } : {}),
          ...(o['validate-split'] ? { validation: { dataset: { kind: 'split' as const, split: o['validate-split'] as string }, ...(o['validate-from'] ? { offset: num['validate-from']! } : {}), ...(o['validate-count'] ? { limit: num['validate-count']! } : {}) } } : {}),
          ...(o['skip-damaged'] ? { skipDamagedShards: true } : {}), ...(o.overwrite ? { overwrite: true } : {}), ...(o['allow-incomplete'] ? { allowIncomplete: true } : {}),
          ...(o.init !== undefined ? { init: oneOf(o.init as string, saeInits, '--init') } : {}),
          ...(o['state-every'] !== undefined ? { stateEverySeconds: num['state-every']! } : {}),
        }, services, call);
        io.out(json ? JSON.stringify(r, null, 2) : formatTraining(r, o.out as string));
        return 0;
      }
      case 'evaluate': {
        const [model, ...extra] = args.positional;
        const o = args.options;
        if (!model || extra.length || !o.sae) throw new UsageError('fact evaluate takes a MODEL and --sae CKPT.');
        const dataset: DatasetSpec | undefined = o.data ? { kind: 'folder', path: o.data as string }
          : o.images || o.labels ? { kind: 'idx', images: required(o.images, '--images'), labels: required(o.labels, '--labels') }
          : o.split ? { kind: 'split', split: o.split as string } : undefined;
        const r = await handlers.evaluate({ model, sae: o.sae as string, ...derivedOut(o), ...(dataset ? { dataset } : {}), ...(o.limit ? { limit: num['limit']! } : {}) }, services, call);
        io.out(json ? JSON.stringify(r, null, 2) : `${formatEvaluation(r)}\nSaved in ${r.out}`);
        return 0;
      }
      case 'concepts': {
        const [model, ...extra] = args.positional;
        const o = args.options;
        if (!model || extra.length || !o.sae) throw new UsageError('fact concepts takes a MODEL and --sae CKPT.');
        if (o.concept !== undefined) {
          const c = await handlers.concept({ model, sae: o.sae as string, concept: num.concept!, ...derivedOut(o) }, services, call);
          const { stripPng: _s, ...rest } = c;
          io.out(json ? JSON.stringify(rest, null, 2) : formatConcept(rest));
          return 0;
        }
        const r = await handlers.concepts({ model, sae: o.sae as string, ...derivedOut(o), ...(o.rebuild ? { rebuild: true } : {}) }, services, call);
        io.out(json ? JSON.stringify(r, null, 2) : `Concept atlas ${r.atlasDir}: ${r.concepts} concepts, ${r.alive} alive${r.rebuilt ? ` (${r.evaluated ? 'evaluated and ' : ''}built in ${r.seconds.toFixed(1)} s)` : ' (up to date)'}.`);
        return 0;
      }
      case 'consistency': {
        const [model, ...extra] = args.positional;
        const o = args.options;
        if (!model || extra.length || !o.sae) throw new UsageError('fact consistency takes a MODEL and --sae CKPT.');
        const r = await handlers.consistency({ model, sae: o.sae as string, ...derivedOut(o), ...(o.foundation ? { foundation: o.foundation as string } : {}), ...(o['mean-images'] ? { meanImages: num['mean-images']! } : {}) }, services, call);
        const { histogram: _h, ...rest } = r;
        io.out(json ? JSON.stringify(rest, null, 2) : `${formatConsistency(rest)}\nSaved in ${r.out}`);
        return 0;
      }
      case 'devices': {
        const providers = await probeAllProviders(services.options);
        const auto = await chooseAutoProvider(services.options);
        io.out(json ? JSON.stringify({ providers, auto: auto.provider, ...(auto.note ? { autoNote: auto.note } : {}) }, null, 2) : formatDevices(providers, auto.provider));
        return 0;
      }
      case 'check': {
        const [model, ...images] = args.positional;
        if (!model) throw new UsageError('fact check takes a MODEL (and optionally IMAGEs to test on).');
        const r = await handlers.check({ model, images }, services, call);
        io.out(json ? JSON.stringify(r, null, 2) : formatCheck(r));
        return r.dynamicLinear ? 0 : 1;
      }
      default:
        throw new UsageError(`Unknown command '${command}'.`);
    }
  } catch (caught) {
    if (caught instanceof UsageError) { io.err(`${caught.message}\n\n${USAGE}`); return 2; }
    const e = fileSystemError(caught) ?? caught;
    if (isFactError(e)) {
      if (json) io.out(JSON.stringify({ error: { code: e.code, message: e.message, details: e.details } }, null, 2));
      io.err(`error: ${e.message}`);
      return 1;
    }
    io.err(`internal error: ${(e as Error).stack ?? String(e)}`);
    return 1;
  } finally {
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    await services?.dispose();
  }
}

/** A class given by index or by name (as the card lists it). */
async function resolveClass(services: CoreServices, model: string, given: string): Promise<number> {
  if (/^\d+$/.test(given)) return Number(given);
  const ctx = await services.model(model);
  const k = ctx.classes?.findIndex((c) => c.toLowerCase() === given.toLowerCase()) ?? -1;
  if (k < 0) throw new UsageError(`--class '${given}' is neither an index nor one of the model's classes${ctx.classes ? ` (${ctx.classes.join(', ')})` : ''}.`);
  return k;
}

/** The collection's dataset: a folder, an IDX pair, or a split of the model card (default: train). */
function datasetOf(o: Record<string, string | true>): DatasetSpec {
  return o.data ? { kind: 'folder', path: o.data as string }
    : o.images || o.labels ? { kind: 'idx', images: required(o.images, '--images'), labels: required(o.labels, '--labels') }
    : { kind: 'split', split: (o.split as string | undefined) ?? 'train' };
}

function imageRange(v: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2])) throw new UsageError('--range must be FIRST:END with FIRST < END (images FIRST..END-1).');
  return [Number(m[1]), Number(m[2])];
}

function required(v: string | true | undefined, name: string): string {
  if (typeof v !== 'string') throw new UsageError(`${name} is required here.`);
  return v;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`${name} must be ${allowed.join(' or ')}, not '${v}'.`);
  return v as T;
}
if (require.main === module) {
  runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}

/** `--out DIR`: where evaluate, concepts and consistency put (and find) what they derive from a checkpoint. */
function derivedOut(o: Record<string, string | true>): { out?: string } {
  return typeof o.out === 'string' ? { out: o.out } : {};
}
