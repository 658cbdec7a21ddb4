// The `fact` commands: each one's declaration (arguments and typed options, which drive parsing, validation and its
// --help) beside the code that runs it. The work is done by src/core's handlers; this file only maps arguments to
// their parameters and results to text.
import type { CallContext } from '../core/jobs/methods';
import type { CoreServices } from '../core/jobs/services';
import type { DatasetSpec } from '../core/data/openDataset';
import { saeInits } from '../core/sae/saeConfig';
import { planOptions } from './planOptions';
import {
  formatCheck,
  formatConcept,
  formatConsistency,
  formatDecision,
  formatDevices,
  formatEvaluation,
  formatExplanation,
  formatInspection,
  formatManifest,
  formatPredictions,
  formatTraining,
  formatVerification,
  stripPngs,
} from './format';
import { opt, UsageError, type CommandSpec, type Options, type Parsed } from './options';
import { slurmOptions } from './slurmOptions';

/** The Slurm and planning code, loaded when used (it reaches into the core). */
const slurm = () => import('./slurm');
const planning = () => import('./plan');

/** What a running command gets: the core, a cancellable call context per job, and where to print. */
export interface CommandContext {
  services: CoreServices;
  /** A call context for one job (its own progress line); `end()` clears the progress before results print. */
  job: () => CallContext & { end: () => void };
  out: (s: string) => void;
  err: (s: string) => void;
  /** The command's own arguments as given (a Slurm job runs them again). */
  argv: string[];
  /** Aborted by Ctrl-C or SIGTERM. */
  signal: AbortSignal;
}

export interface Command<O extends Options> {
  spec: CommandSpec<O>;
  run: (a: Parsed<O>, c: CommandContext) => Promise<number>;
}

/** The core, loaded when a command runs — not for --help or --version (onnxruntime and sharp are most of the start-up). */
async function core() {
  return (await import('../core/jobs/methods')).handlers;
}

function command<O extends Options>(spec: CommandSpec<O>, run: Command<O>['run']): Command<O> {
  return { spec, run };
}

const dataOptions = {
  data: opt.string('FOLDER', 'images in one sub-folder per class'),
  images: opt.string('IDX', 'an IDX image file (with --labels)'),
  labels: opt.string('IDX', 'an IDX label file (with --images)'),
  split: opt.string('NAME', "a split the model card names ('train', 'test')"),
};

function datasetOf(o: { data?: string; images?: string; labels?: string; split?: string }, command: string): DatasetSpec | undefined {
  const given = [o.data !== undefined, o.images !== undefined || o.labels !== undefined, o.split !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError('Give one dataset: --data, --images with --labels, or --split.', command);
  if (o.data !== undefined) return { kind: 'folder', path: o.data };
  if (o.images !== undefined || o.labels !== undefined) {
    if (o.images === undefined || o.labels === undefined) throw new UsageError('--images and --labels go together.', command);
    return { kind: 'idx', images: o.images, labels: o.labels };
  }
  return o.split !== undefined ? { kind: 'split', split: o.split } : undefined;
}

/** `--out DIR`: where evaluate, concepts and consistency put (and find) what they derive from a checkpoint. */
const derivedOutOption = {
  out: opt.string('DIR', 'put (and find) what is derived from the checkpoint here instead of the cache'),
};

function derivedOut(o: { out?: string }): { out?: string } {
  return o.out !== undefined ? { out: o.out } : {};
}

/** Prints JSON or text for a result. */
function show(c: CommandContext, json: boolean | undefined, value: unknown, text: () => string): void {
  c.out(json ? JSON.stringify(value, null, 2) : text());
}

/** Said when `concepts` or `consistency` found no current evaluation and the core evaluated the SAE first. */
const EVALUATED_FIRST =
  "The SAE had no current evaluation: it was evaluated first on the model card's test split (as `fact evaluate` would).";

/** A class given by index or by name (as the card lists it). */
async function resolveClass(services: CoreServices, model: string, given: string): Promise<number> {
  if (/^\d+$/.test(given)) return Number(given);
  const ctx = await services.model(model);
  const k = ctx.classes?.findIndex((c) => c.toLowerCase() === given.toLowerCase()) ?? -1;
  if (k < 0)
    throw new UsageError(
      `--class '${given}' is neither an index nor one of the model's classes${ctx.classes ? ` (${ctx.classes.join(', ')})` : ''}.`,
      'explain',
    );
  return k;
}

/** Runs one core job with its own progress line, cleared before the result prints. */
async function job<T>(c: CommandContext, work: (call: CallContext) => Promise<T>): Promise<T> {
  const call = c.job();
  try {
    return await work(call);
  } finally {
    call.end();
  }
}

const inspect = command(
  {
    name: 'inspect',
    args: ['MODEL'],
    summary: 'Inputs, outputs and op counts of an ONNX model, and the candidate layers for an SAE.',
    options: { all: opt.flag('list every boundary tensor, not only named blocks') },
  },
  async ({ positional: [model], options: o }, c) => {
    const r = await job(c, async (call) => (await core()).inspect({ model: model! }, c.services, call));
    show(c, o.json, r, () => formatInspection(r, o.all === true));
    return 0;
  },
);

const predict = command(
  {
    name: 'predict',
    args: ['MODEL', 'IMAGE...'],
    summary: 'The top classes with logits and probabilities for each image.',
    options: { top: opt.int('K', 'how many classes (default 5)') },
  },
  async ({ positional: [model, ...images], options: o }, c) => {
    const r = await job(c, async (call) => (await core()).predict({ model: model!, images, top: o.top ?? 5 }, c.services, call));
    show(c, o.json, r, () => formatPredictions(r.results));
    const failed = r.results.filter((x) => x.error);
    for (const f of failed) c.err(`error: ${f.error}`);
    return failed.length ? 3 : 0;
  },
);

const explain = command(
  {
    name: 'explain',
    args: ['MODEL', 'IMAGE...'],
    summary: "The exact B-cos explanation of each image (logit = Σ x·W + bias), or with --sae the decision through the SAE's concepts.",
    details: [
      'Without --sae: the logit, Σ x·W(x), the bias and the completeness error; with --out DIR also the colour',
      'explanation and a panel PNG per image (nothing is written without --out).',
      "With --sae: each concept's contribution and share, traces of the top concepts, completeness; --html writes",
      'one self-contained report for all the images.',
      'C is a class index or name (default: the predicted class).',
    ],
    options: {
      class: opt.string('C', 'the class to explain, by index or name (default: the predicted class)'),
      out: opt.string('DIR', 'write the explanation PNGs into DIR (without --sae)'),
      sae: opt.string('CKPT', 'explain through the concepts of this SAE checkpoint folder'),
      html: opt.string('FILE', 'with --sae: write a self-contained HTML report'),
      top: opt.int('N', 'with --sae: how many concepts to trace (default 16)'),
    },
  },
  async ({ positional: [model, ...images], options: o }, c) => {
    const classIndex = o.class !== undefined ? await resolveClass(c.services, model!, o.class) : undefined;
    const cls = classIndex !== undefined ? { classIndex } : {};
    if (o.sae !== undefined) {
      if (o.out !== undefined)
        throw new UsageError('--out is for the explanation PNGs without --sae; with --sae use --html FILE.', 'explain');
      const params = {
        model: model!,
        sae: o.sae,
        ...cls,
        ...(o.html !== undefined ? { html: o.html } : {}),
        ...(o.top !== undefined ? { topConcepts: o.top } : {}),
      };
      if (images.length === 1) {
        const r = await job(c, async (call) => (await core()).explainConcepts({ ...params, image: images[0]! }, c.services, call));
        show(c, o.json, stripPngs(r), () => formatDecision(r));
        if (!o.json && r.html === undefined) c.err('(no files written: --html FILE writes a report)');
        return 0;
      }
      const r = await job(c, async (call) => (await core()).explainConceptsReport({ ...params, images }, c.services, call));
      show(c, o.json, stripPngs(r), () => [...r.results.map(formatDecision), ...(r.html ? [`Report: ${r.html}`] : [])].join('\n\n'));
      if (!o.json && r.html === undefined) c.err('(no files written: --html FILE writes a report)');
      return 0;
    }
    if (o.html !== undefined || o.top !== undefined)
      throw new UsageError(`--${o.html !== undefined ? 'html' : 'top'} needs --sae CKPT.`, 'explain');
    const results = [];
    for (const image of images) {
      const r = await job(c, async (call) =>
        (await core()).explain({ model: model!, image, ...cls, ...(o.out !== undefined ? { outDir: o.out } : {}) }, c.services, call),
      );
      const { png: _png, ...rest } = r;
      results.push(rest);
      if (!o.json) c.out(formatExplanation(r));
    }
    if (o.json) c.out(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
    else if (o.out === undefined) c.err('(no files written: --out DIR saves the explanation PNGs)');
    return 0;
  },
);

const check = command(
  {
    name: 'check',
    args: ['MODEL', '[IMAGE...]'],
    summary: 'Is the model dynamic-linear? What was frozen, and the worst completeness error on the images (or random ones).',
    options: {},
  },
  async ({ positional: [model, ...images], options: o }, c) => {
    const r = await job(c, async (call) => (await core()).check({ model: model!, images }, c.services, call));
    show(c, o.json, r, () => formatCheck(r));
    return r.dynamicLinear ? 0 : 1;
  },
);

const collect = command(
  {
    name: 'collect',
    args: ['MODEL'],
    summary: "Sample a layer's features into a chunked, checksummed store; resumes when DIR holds a partial store of the same job.",
    details: ['Default data: the model card\'s "train" split.'],
    options: {
      layer: opt.stringRequired('L', 'the layer (as `fact inspect` lists it)'),
      out: opt.stringRequired('DIR', 'the feature store folder'),
      ...dataOptions,
      dtype: opt.choice(['float32', 'float16'] as const, 'stored precision (default float32)'),
      samples: opt.int('N', 'locations sampled per image'),
      'budget-gb': opt.number('X', 'stop at about X GB'),
      'shard-size': opt.int('N', 'vectors per shard'),
      limit: opt.int('N', 'use the first N images'),
      seed: opt.int('S', 'sampling seed', { min: 0 }),
      order: opt.choice(
        ['shuffled', 'dataset'] as const,
        'visit images in a seeded random order (default; every shard then mixes all classes) or in dataset order',
      ),
      range: opt.string('A:B', 'only positions A..B-1 of the collection order, into a part-store (what a Slurm task runs)'),
      ...slurmOptions,
    },
  },
  async (a, c) => {
    const {
      positional: [model],
      options: o,
    } = a;
    const dataset: DatasetSpec = datasetOf(o, 'collect') ?? { kind: 'split', split: 'train' };
    if (o.slurm) return (await slurm()).submitToSlurm('collect', a, c, () => dataset);
    const m = await job(c, async (call) =>
      (await core()).collect(
        {
          model: model!,
          layer: o.layer,
          dataset,
          outDir: o.out,
          dtype: o.dtype ?? 'float32',
          ...(o.samples !== undefined ? { samplesPerImage: o.samples } : {}),
          ...(o['budget-gb'] !== undefined ? { budgetGB: o['budget-gb'] } : {}),
          ...(o['shard-size'] !== undefined ? { shardVectors: o['shard-size'] } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          ...(o.order !== undefined ? { order: o.order } : {}),
          ...(o.range !== undefined ? { range: imageRange(o.range) } : {}),
        },
        c.services,
        call,
      ),
    );
    show(c, o.json, m, () => formatManifest(m, o.out));
    return m.skipped.length ? 3 : 0;
  },
);

const train = command(
  {
    name: 'train',
    args: ['MODEL'],
    summary: "Train a bias-free TopK SAE through onnxruntime (resumes from CKPT's saved state).",
    options: {
      features: opt.stringRequired('STORE', 'the feature store made by `fact collect`'),
      out: opt.stringRequired('CKPT', 'the checkpoint folder'),
      k: opt.intRequired('K', 'active concepts per vector'),
      'dict-size': opt.intRequired('M', 'number of concepts'),
      epochs: opt.int('E', 'passes over the store'),
      batch: opt.int('B', 'vectors per step'),
      lr: opt.number('LR', 'learning rate'),
      seed: opt.int('S', 'initialisation seed', { min: 0 }),
      'validate-split': opt.string('NAME', 'keep the best checkpoint by accuracy with the SAE on this split'),
      'validate-from': opt.int('I', 'first image of the validation split', { min: 0 }),
      'validate-count': opt.int('N', 'validation images'),
      'skip-damaged': opt.flag(
        'train on without damaged shards: one missing, or found damaged when first read, is reported and its vectors are left out of their batches (default: it stops training)',
      ),
      overwrite: opt.flag('retrain a finished checkpoint (otherwise refused)'),
      'allow-incomplete': opt.flag('train on a store whose collection did not finish'),
      init: opt.choice(saeInits, "initialisation: isotropic (default) or fact (FaCT's kaiming-uniform)"),
      'state-every': opt.number('SECONDS', 'save the resumable state this often as well as at every epoch end (default 180)'),
      ...slurmOptions,
    },
  },
  async (a, c) => {
    const {
      positional: [model],
      options: o,
    } = a;
    if (o.slurm) return (await slurm()).submitToSlurm('train', a, c, () => ({ kind: 'split', split: 'train' }));
    const validation =
      o['validate-split'] !== undefined
        ? {
            validation: {
              dataset: { kind: 'split' as const, split: o['validate-split'] },
              ...(o['validate-from'] !== undefined ? { offset: o['validate-from'] } : {}),
              ...(o['validate-count'] !== undefined ? { limit: o['validate-count'] } : {}),
            },
          }
        : {};
    const r = await job(c, async (call) =>
      (await core()).train(
        {
          model: model!,
          features: o.features,
          out: o.out,
          k: o.k,
          dictSize: o['dict-size'],
          ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
          ...(o.batch !== undefined ? { batchSize: o.batch } : {}),
          ...(o.lr !== undefined ? { lr: o.lr } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          ...validation,
          ...(o['skip-damaged'] ? { skipDamagedShards: true } : {}),
          ...(o.overwrite ? { overwrite: true } : {}),
          ...(o['allow-incomplete'] ? { allowIncomplete: true } : {}),
          ...(o.init !== undefined ? { init: o.init } : {}),
          ...(o['state-every'] !== undefined ? { stateEverySeconds: o['state-every'] } : {}),
        },
        c.services,
        call,
      ),
    );
    show(c, o.json, r, () => formatTraining(r, o.out));
    return 0;
  },
);

const evaluate = command(
  {
    name: 'evaluate',
    args: ['MODEL'],
    summary:
      'Accuracy with and without the SAE, image L0, 80%-coverage L0, reconstruction error, alive concepts; saves the per-image records the atlas and C² use.',
    details: ['Default data: the model card\'s "test" split.'],
    options: {
      sae: opt.stringRequired('CKPT', 'the SAE checkpoint folder'),
      ...dataOptions,
      limit: opt.int('N', 'evaluate the first N images'),
      ...derivedOutOption,
      ...slurmOptions,
    },
  },
  async (a, c) => {
    const {
      positional: [model],
      options: o,
    } = a;
    if (o.slurm) return (await slurm()).submitToSlurm('evaluate', a, c, () => ({ kind: 'split', split: 'test' }));
    const dataset = datasetOf(o, 'evaluate');
    const r = await job(c, async (call) =>
      (await core()).evaluate(
        {
          model: model!,
          sae: o.sae,
          ...derivedOut(o),
          ...(dataset ? { dataset } : {}),
          ...(o.limit !== undefined ? { limit: o.limit } : {}),
        },
        c.services,
        call,
      ),
    );
    show(c, o.json, r, () => `${formatEvaluation(r)}\nSaved in ${r.out}`);
    return 0;
  },
);

const concepts = command(
  {
    name: 'concepts',
    args: ['MODEL'],
    summary:
      'Build (or read) the concept atlas: per concept its frequency, mean presence and contribution, classes, top images with traces.',
    details: ['An SAE without a current evaluation is evaluated first (as `fact evaluate` would).'],
    options: {
      sae: opt.stringRequired('CKPT', 'the SAE checkpoint folder'),
      concept: opt.int('K', 'show one concept (an index from 0)', { min: 0 }),
      rebuild: opt.flag('rebuild the atlas even when it is current'),
      ...derivedOutOption,
    },
  },
  async ({ positional: [model], options: o }, c) => {
    if (o.concept !== undefined) {
      const k = o.concept;
      const r = await job(c, async (call) =>
        (await core()).concept({ model: model!, sae: o.sae, concept: k, ...derivedOut(o) }, c.services, call),
      );
      const { stripPng: _s, ...rest } = r;
      show(c, o.json, rest, () => formatConcept(rest));
      return 0;
    }
    const r = await job(c, async (call) =>
      (await core()).concepts({ model: model!, sae: o.sae, ...derivedOut(o), ...(o.rebuild ? { rebuild: true } : {}) }, c.services, call),
    );
    if (r.evaluated) c.err(EVALUATED_FIRST);
    show(
      c,
      o.json,
      r,
      () =>
        `Concept atlas ${r.atlasDir}: ${r.concepts} concepts, ${r.alive} alive${r.rebuilt ? ` (${r.evaluated ? 'evaluated and ' : ''}built in ${r.seconds.toFixed(1)} s)` : ' (up to date)'}.`,
    );
    return 0;
  },
);

const consistency = command(
  {
    name: 'consistency',
    args: ['MODEL'],
    summary: 'The C² score of every concept, the random-trace baseline and Δ_rand, and a histogram PNG.',
    details: ['An SAE without a current evaluation is evaluated first (as `fact evaluate` would).'],
    options: {
      sae: opt.stringRequired('CKPT', 'the SAE checkpoint folder'),
      foundation: opt.string('FILE.onnx', 'the foundation feature model (default: the one the model card names)'),
      'mean-images': opt.int('N', 'images for the mean feature'),
      ...derivedOutOption,
      ...slurmOptions,
    },
  },
  async (a, c) => {
    const {
      positional: [model],
      options: o,
    } = a;
    if (o.slurm) return (await slurm()).submitToSlurm('consistency', a, c, () => ({ kind: 'split', split: 'test' }));
    const r = await job(c, async (call) =>
      (await core()).consistency(
        {
          model: model!,
          sae: o.sae,
          ...derivedOut(o),
          ...(o.foundation !== undefined ? { foundation: o.foundation } : {}),
          ...(o['mean-images'] !== undefined ? { meanImages: o['mean-images'] } : {}),
        },
        c.services,
        call,
      ),
    );
    if (r.evaluated) c.err(EVALUATED_FIRST);
    const { histogram: _h, ...rest } = r;
    show(c, o.json, rest, () => `${formatConsistency(rest)}\nSaved in ${r.out}`);
    return 0;
  },
);

const devices = command(
  {
    name: 'devices',
    args: [],
    summary: 'The execution providers available here (each probed with a tiny graph), their adapters, and what to install.',
    options: {},
  },
  async ({ options: o }, c) => {
    const { probeAllProviders, chooseAutoProvider } = await import('../core/onnx/devices');
    const providers = await probeAllProviders(c.services.options);
    const auto = await chooseAutoProvider(c.services.options);
    show(c, o.json, { providers, auto: auto.provider, ...(auto.note ? { autoNote: auto.note } : {}) }, () =>
      formatDevices(providers, auto.provider),
    );
    return 0;
  },
);

const merge = command(
  {
    name: 'merge',
    args: ['STORE'],
    summary: 'Merge the part-stores in STORE/parts/ (a Slurm collection) into one store, without copying shard data.',
    options: {},
  },
  async ({ positional, options: o }, c) => (await slurm()).runMerge(positional, c.out, o.json === true, c.signal),
);

const verify = command(
  {
    name: 'verify',
    args: ['STORE'],
    summary: 'Check every shard of a feature store against its checksum; remembers the good ones, so training does not hash them again.',
    details: [
      'Training verifies each shard as it first reads it; this is the full check on demand. Exit 1 when a shard is damaged or missing.',
    ],
    options: {},
  },
  async ({ positional: [store], options: o }, c) => {
    const { verifyStore } = await import('../core/features/verifyStore');
    const { verifiedShardsFile } = await import('../core/features/verifiedShards');
    const memoFile = await verifiedShardsFile(c.services.cache.root, store!);
    const r = await job(c, (call) =>
      verifyStore(store!, { memoFile, signal: c.signal, onProgress: (d, t) => call.progress(`${d}/${t} shards verified`, d / t) }),
    );
    show(c, o.json, r, () => formatVerification(r));
    return r.damaged.length ? 1 : 0;
  },
);

const jobs = command(
  {
    name: 'jobs',
    args: ['[cancel]', '[ID]'],
    summary: "This project's Slurm jobs: state, progress, log; `fact jobs cancel ID` cancels one.",
    options: {},
  },
  async ({ positional, options: o }, c) => (await slurm()).runJobs(positional, c.out, o.json === true),
);

const plan = command(
  {
    name: 'plan',
    args: ['MODEL'],
    summary: "Measure this machine's collection and training throughput; project wall time, store size, RAM and disk for a large run.",
    options: planOptions,
  },
  async (a, c) => (await planning()).runPlan(a, c.services, { out: c.out, err: c.err }, a.options.json === true),
);

/** `--range A:B` of collect. */
function imageRange(v: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2]))
    throw new UsageError('--range must be FIRST:END with FIRST < END (images FIRST..END-1).', 'collect');
  return [Number(m[1]), Number(m[2])];
}

/** Every command, in the order the overview lists them. */
export const commands = {
  inspect,
  predict,
  check,
  explain,
  collect,
  train,
  evaluate,
  concepts,
  consistency,
  devices,
  merge,
  verify,
  jobs,
  plan,
} as const;
export type CommandName = keyof typeof commands;

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(commands, name);
}
