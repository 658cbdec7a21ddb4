// `fact` — the headless face of FaCT. Argument parsing and printing only; the work is done by src/core.
import { isFactError } from '../core/errors';
import { handlers, type CallContext } from '../core/jobs/methods';
import { CoreServices } from '../core/jobs/services';
import { executionProviders, type ExecutionProvider } from '../core/onnx/session';
import { parseArgs, UsageError } from './args';
import { formatCheck, formatConcept, formatConsistency, formatDecision, formatEvaluation, formatExplanation, formatInspection, formatManifest, formatPredictions, formatTraining, stripPngs } from './format';
import type { DatasetSpec } from '../core/data/openDataset';
import type { FeatureDtype } from '../core/features/manifest';

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
                                                 train a bias-free TopK SAE (resumes from CKPT's state)
  fact evaluate MODEL --sae CKPT [--data FOLDER | --images IDX --labels IDX | --split NAME] [--limit N] [--out DIR]
                                                 accuracy with the SAE, L0, coverage, alive concepts;
                                                 saves presence and contributions in the cache
  fact concepts MODEL --sae CKPT [--concept K] [--rebuild] [--out DIR]
                                                 build (or read) the concept atlas in the cache
                                                 (evaluating first when needed); --concept shows one
  fact consistency MODEL --sae CKPT [--foundation FILE.onnx] [--mean-images N] [--out DIR]
                                                 C² score of every concept, the random baseline, Δ_rand

  What evaluate, concepts and consistency derive from CKPT goes to a cache keyed by the model's and the
  checkpoint's content ($FACT_CACHE, else $XDG_CACHE_HOME/fact-vscode, else ~/.cache/fact-vscode), or
  to --out DIR (give the same --out to the later commands); CKPT itself is only read.

Options:
  --json                 machine-readable output on stdout
  --ep cpu|cuda|webgpu   execution provider (falls back to cpu, with a note, when unavailable)
  --threads N            intra-op threads
  --help                 this text

Exit codes: 0 success, 1 bad input or a model that is not dynamic-linear (the message says which
            file or node and why), 2 usage error, 3 some images could not be processed (the others'
            results are printed).`;

export interface CliIO { out: (s: string) => void; err: (s: string) => void }

const defaultIO: CliIO = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) };

export async function runCli(argv: string[], io: CliIO = defaultIO): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') { io.out(USAGE); return command ? 0 : 2; }
  let services: CoreServices | undefined;
  let json = false;
  try {
    const args = parseArgs(rest, { flags: ['json', 'all', 'help', 'skip-damaged', 'rebuild'], values: ['top', 'ep', 'threads', 'class', 'out', 'layer', 'data', 'images', 'labels', 'split', 'dtype', 'samples', 'budget-gb', 'shard-size', 'limit', 'seed', 'sae', 'html', 'features', 'k', 'dict-size', 'epochs', 'batch', 'lr', 'validate-split', 'validate-from', 'validate-count', 'concept', 'foundation', 'mean-images'] });
    json = args.options.json === true;
    const ep = (args.options.ep ?? 'cpu') as ExecutionProvider;
    if (!executionProviders.includes(ep)) throw new UsageError(`--ep must be one of ${executionProviders.join(', ')}.`);
    const threads = args.options.threads ? positiveInt(args.options.threads as string, '--threads') : undefined;
    services = new CoreServices({ executionProvider: ep, ...(threads ? { threads } : {}) });
    const abort = new AbortController();
    const onSignal = () => { io.err('\nStopping (the job can be resumed)…'); abort.abort(); };
    process.once('SIGINT', onSignal);
    const call: CallContext = { signal: abort.signal, progress: (m) => { if (!json) io.err(m); } };
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
        const top = args.options.top ? positiveInt(args.options.top as string, '--top') : 5;
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
            ...(args.options.top ? { topConcepts: positiveInt(args.options.top as string, '--top') } : {}),
          }, services, call);
          io.out(json ? JSON.stringify(stripPngs(r), null, 2) : [...r.results.map(formatDecision), ...(r.html ? [`Report: ${r.html}`] : [])].join('\n\n'));
          return 0;
        }
        if (!model || !image || extra.length) throw new UsageError('fact explain takes a MODEL and one IMAGE (several with --sae).');
        const classIndex = args.options.class ? await resolveClass(services, model, args.options.class as string) : undefined;
        if (args.options.sae) {
          const r = await handlers.explainConcepts({
            model, image, sae: args.options.sae as string, ...(classIndex !== undefined ? { classIndex } : {}),
            ...(args.options.html ? { html: args.options.html as string } : {}), ...(args.options.top ? { topConcepts: positiveInt(args.options.top as string, '--top') } : {}),
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
        const dataset: DatasetSpec = o.data ? { kind: 'folder', path: o.data as string }
          : o.images || o.labels ? { kind: 'idx', images: required(o.images, '--images'), labels: required(o.labels, '--labels') }
          : { kind: 'split', split: (o.split as string | undefined) ?? 'train' };
        const dtype = (o.dtype ?? 'float32') as FeatureDtype;
        if (dtype !== 'float32' && dtype !== 'float16') throw new UsageError('--dtype must be float32 or float16.');
        const m = await handlers.collect({
          model, layer, dataset, outDir, dtype,
          ...(o.samples ? { samplesPerImage: positiveInt(o.samples as string, '--samples') } : {}),
          ...(o['budget-gb'] ? { budgetGB: positiveNumber(o['budget-gb'] as string, '--budget-gb') } : {}),
          ...(o['shard-size'] ? { shardVectors: positiveInt(o['shard-size'] as string, '--shard-size') } : {}),
          ...(o.limit ? { limit: positiveInt(o.limit as string, '--limit') } : {}),
          ...(o.seed ? { seed: Number(o.seed) } : {}),
        }, services, call);
        io.out(json ? JSON.stringify(m, null, 2) : formatManifest(m, outDir));
        return m.skipped.length ? 3 : 0;
      }
      case 'train': {
        const [model, ...extra] = args.positional;
        const o = args.options;
        if (!model || extra.length || !o.features || !o.out || !o.k || !o['dict-size']) throw new UsageError('fact train takes a MODEL, --features STORE, --out CKPT, --k K and --dict-size M.');
        const r = await handlers.train({
          model, features: o.features as string, out: o.out as string, k: positiveInt(o.k as string, '--k'), dictSize: positiveInt(o['dict-size'] as string, '--dict-size'),
          ...(o.epochs ? { epochs: positiveInt(o.epochs as string, '--epochs') } : {}), ...(o.batch ? { batchSize: positiveInt(o.batch as string, '--batch') } : {}),
          ...(o.lr ? { lr: positiveNumber(o.lr as string, '--lr') } : {}), ...(o.seed ? { seed: Number(o.seed) } : {}),
          ...(o['validate-split'] ? { validation: { dataset: { kind: 'split' as const, split: o['validate-split'] as string }, ...(o['validate-from'] ? { offset: Number(o['validate-from']) } : {}), ...(o['validate-count'] ? { limit: positiveInt(o['validate-count'] as string, '--validate-count') } : {}) } } : {}),
          ...(o['skip-damaged'] ? { skipDamagedShards: true } : {}),
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
        const r = await handlers.evaluate({ model, sae: o.sae as string, ...derivedOut(o), ...(dataset ? { dataset } : {}), ...(o.limit ? { limit: positiveInt(o.limit as string, '--limit') } : {}) }, services, call);
        io.out(json ? JSON.stringify(r, null, 2) : `${formatEvaluation(r)}\nSaved in ${r.out}`);
        return 0;
      }
      case 'concepts': {
        const [model, ...extra] = args.positional;
        const o = args.options;
        if (!model || extra.length || !o.sae) throw new UsageError('fact concepts takes a MODEL and --sae CKPT.');
        if (o.concept !== undefined) {
          const c = await handlers.concept({ model, sae: o.sae as string, concept: Number(o.concept), ...derivedOut(o) }, services, call);
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
        const r = await handlers.consistency({ model, sae: o.sae as string, ...derivedOut(o), ...(o.foundation ? { foundation: o.foundation as string } : {}), ...(o['mean-images'] ? { meanImages: positiveInt(o['mean-images'] as string, '--mean-images') } : {}) }, services, call);
        const { histogram: _h, ...rest } = r;
        io.out(json ? JSON.stringify(rest, null, 2) : `${formatConsistency(rest)}\nSaved in ${r.out}`);
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
  } catch (e) {
    if (e instanceof UsageError) { io.err(`${e.message}\n\n${USAGE}`); return 2; }
    if (isFactError(e)) {
      if (json) io.out(JSON.stringify({ error: { code: e.code, message: e.message, details: e.details } }, null, 2));
      io.err(`error: ${e.message}`);
      return 1;
    }
    io.err(`internal error: ${(e as Error).stack ?? String(e)}`);
    return 1;
  } finally {
    process.removeAllListeners('SIGINT');
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

function required(v: string | true | undefined, name: string): string {
  if (typeof v !== 'string') throw new UsageError(`${name} is required here.`);
  return v;
}

function positiveNumber(v: string, name: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new UsageError(`${name} must be a positive number.`);
  return n;
}

function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer.`);
  return n;
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}

/** `--out DIR`: where evaluate, concepts and consistency put (and find) what they derive from a checkpoint. */
function derivedOut(o: Record<string, string | true>): { out?: string } {
  return typeof o.out === 'string' ? { out: o.out } : {};
}
