// The messages between the extension host and the webviews, declared once here and imported by both sides.
// Every message is validated on arrival; an invalid one is logged and dropped, never half-handled.
// Each panel has a pair of schemas (host → webview, webview → host) and the schema of the state it persists so that
// VS Code can restore it after a window reload. Messages every panel understands are shared below.
import { arr, bool, literal, nullable, num, obj, optional, str, tagged, type Infer } from './schema';

// ── shared ──────────────────────────────────────────────────────────────────────────────────────────────────────

/** A long job as panels show it (live progress from the job runner). */
export const jobViewSchema = obj({
  id: num,
  kind: str,
  target: str,
  title: str,
  message: str,
  /** 0…1, or null while the job cannot tell. */
  fraction: nullable(num),
  startedAt: num,
});
export type JobView = Infer<typeof jobViewSchema>;

const jobsMessage = obj({ type: literal('jobs'), jobs: arr(jobViewSchema) });
/** Host → any panel: the jobs it shows (every panel's host schema includes it). */
export type JobsMessage = Infer<typeof jobsMessage>;

const readyMessage = obj({ type: literal('ready') });
const copyTextMessage = obj({ type: literal('copyText'), text: str });
const logMessage = obj({ type: literal('log'), message: str, level: optional(str) });
const cancelJobMessage = obj({ type: literal('cancelJob'), id: num });
/** Any panel → host: the messages the panel base (src/extension/panels/panelHost.ts) handles for every panel. */
export const commonWebviewMessageSchema = tagged({
  ready: readyMessage,
  copyText: copyTextMessage,
  log: logMessage,
  cancelJob: cancelJobMessage,
});

// ── the model panel (FaCT: Open Model) ──────────────────────────────────────────────────────────────────────────

const tensorRow = obj({ name: str, dtype: str, shape: str });

export const modelViewSchema = obj({
  name: str,
  file: str,
  sha256: str,
  producer: str,
  opset: num,
  nodeCount: num,
  parameterCount: num,
  opCounts: arr(obj({ op: str, count: num })),
  inputs: arr(tensorRow),
  outputs: arr(tensorRow),
  imageInput: obj({ name: str, channels: num, colorSpace: str, encoding: str }),
  layers: arr(obj({ label: str, tensor: str, shape: str, aliases: arr(str), recommended: bool, depth: num })),
  classes: nullable(arr(str)),
  hasCard: bool,
});
export type ModelView = Infer<typeof modelViewSchema>;

/** Host → model panel. */
export const modelHostMessageSchema = tagged({
  loading: obj({ type: literal('loading'), file: str }),
  model: obj({ type: literal('model'), model: modelViewSchema }),
  error: obj({ type: literal('error'), message: str }),
  jobs: jobsMessage,
});
export type ModelHostMessage = Infer<typeof modelHostMessageSchema>;

/** Model panel → host. */
export const modelWebviewMessageSchema = tagged({
  ready: readyMessage,
  copyText: copyTextMessage,
  log: logMessage,
  cancelJob: cancelJobMessage,
  revealModel: obj({ type: literal('revealModel') }),
  reload: obj({ type: literal('reload') }),
  collectFeatures: obj({ type: literal('collectFeatures'), layer: str }),
  explainImage: obj({ type: literal('explainImage') }),
});
export type ModelWebviewMessage = Infer<typeof modelWebviewMessageSchema>;

/** What the model panel stores to be restored after a window reload. */
export const modelPanelStateSchema = obj({ file: str });
export type ModelPanelState = Infer<typeof modelPanelStateSchema>;

// ── the explain panel (FaCT: Explain Image) ─────────────────────────────────────────────────────────────────────

export const classScoreSchema = obj({ index: num, name: str, logit: num, probability: num });

export const explainViewSchema = obj({
  model: str,
  modelName: str,
  image: str,
  imageName: str,
  /** The class whose logit is explained, and whether it is the predicted one. */
  classIndex: num,
  className: str,
  predicted: bool,
  /** Top classes, best first (the predicted class is the first). */
  top: arr(classScoreSchema),
  /** logit = contributionSum + bias, up to completenessError (= |Σ x·W + bias − logit|). */
  logit: num,
  bias: num,
  contributionSum: num,
  completenessError: num,
  positiveContribution: num,
  width: num,
  height: num,
  /** data: URIs of PNGs: the input, the B-cos colour explanation (transparent where nothing contributes), the signed
   *  contribution map. */
  images: obj({ input: str, explanation: str, contributions: str }),
  /** Seconds the core took (model analysis included on a first call). */
  seconds: num,
  /** Where it ran: "cpu", "webgpu on llvmpipe (software)", "cpu (webgpu is not available: …)". */
  ranOn: optional(str),
});
export type ExplainView = Infer<typeof explainViewSchema>;

// ── concepts through an SAE (the explain panel's concept slots, the concept, consistency and training panels) ───

export const conceptShareSchema = obj({ concept: num, presence: num, contribution: num, share: num });

/** A decision explained through an SAE's concepts (core `explainConcepts`), as the explain panel shows it. */
export const conceptDecisionViewSchema = obj({
  model: str,
  image: str,
  sae: str,
  /** The checkpoint's short name ('layer3', 'layer3/k8-1024') and the layer it reads. */
  saeName: str,
  layer: str,
  classIndex: num,
  className: str,
  /** Top classes with the SAE in place, best first, each with the model's own logit for it (without the SAE). */
  top: arr(obj({ index: num, name: str, logit: num, probability: num, modelLogit: num })),
  /** The class the model predicts without the SAE (index and name). */
  predictedWithoutSae: num,
  predictedWithoutSaeName: str,
  /** Σ_k c_k + bias = logit, up to completenessError. */
  logit: num,
  bias: num,
  conceptSum: num,
  completenessError: num,
  /** Concepts present in the image. */
  active: num,
  /** The traced (largest positive) concepts, each with its trace on this image (data: URI, on black). */
  traced: arr(obj({ concept: num, presence: num, contribution: num, share: num, traceSum: num, png: str })),
  /** The most negative concepts (not traced), most negative first. */
  negative: arr(conceptShareSchema),
  /** Everything not traced, together (negative ones included), with its trace. */
  other: obj({ concepts: num, contribution: num, share: num, png: str }),
  /** The full logit's explanation through the SAE. */
  full: obj({ png: str, contributionMapSum: num }),
  input: str,
  seconds: num,
});
export type ConceptDecisionView = Infer<typeof conceptDecisionViewSchema>;

/** A concept's top-activating dataset images as one PNG strip (inputs above, traces below). */
export const conceptStripSchema = obj({
  concept: num,
  /** data: URI of the strip; `count` images side by side. */
  png: str,
  count: num,
  frequency: num,
  meanContribution: num,
  c2: nullable(num),
  topClass: nullable(str),
});
export type ConceptStripView = Infer<typeof conceptStripSchema>;

const conceptsMessage = obj({
  type: literal('concepts'),
  /** none: no SAE for this model (the slots say how to get one); loading; ready (`view`); error (`message`). */
  status: str,
  sae: nullable(str),
  saeName: nullable(str),
  view: nullable(conceptDecisionViewSchema),
  message: nullable(str),
});
export type ConceptsMessage = Infer<typeof conceptsMessage>;

const stripsMessage = obj({
  type: literal('strips'),
  sae: str,
  /** loading (the atlas is being read or built), ready, unavailable (`message` says why, e.g. not evaluated). */
  status: str,
  message: nullable(str),
  strips: arr(conceptStripSchema),
  /** true: `strips` are the ones new since the last message (added to those shown); false: all of them. Strips
   *  arrive one by one, each sent once; a reloaded page gets them all in one message. */
  append: bool,
});
export type StripsMessage = Infer<typeof stripsMessage>;

/** Host → explain panel. */
export const explainHostMessageSchema = tagged({
  /** Sent at once when a new image or class is asked for; the input picture comes along so it paints at once. */
  loading: obj({
    type: literal('loading'),
    model: str,
    modelName: str,
    image: str,
    imageName: str,
    input: nullable(str),
    classIndex: nullable(num),
  }),
  explanation: obj({ type: literal('explanation'), view: explainViewSchema }),
  error: obj({ type: literal('error'), message: str }),
  jobs: jobsMessage,
  /** The concept slots: the decision through the model's SAE (or why there is none). */
  concepts: conceptsMessage,
  /** The top-activating dataset images of the traced concepts, as they arrive. */
  strips: stripsMessage,
});
export type ExplainHostMessage = Infer<typeof explainHostMessageSchema>;

/** Explain panel → host. */
export const explainWebviewMessageSchema = tagged({
  ready: readyMessage,
  copyText: copyTextMessage,
  log: logMessage,
  cancelJob: cancelJobMessage,
  /** Explain this class's logit instead. */
  explainClass: obj({ type: literal('explainClass'), classIndex: num }),
  exportReport: obj({ type: literal('exportReport') }),
  revealImage: obj({ type: literal('revealImage') }),
  openModel: obj({ type: literal('openModel') }),
  /** The explanation for (image, classIndex) is on screen, pictures decoded. */
  painted: obj({ type: literal('painted'), image: str, classIndex: num }),
  /** Open the concept panel on this concept of the SAE shown. */
  openConcept: obj({ type: literal('openConcept'), concept: num }),
  /** Choose the SAE (or none) for this model, then explain again. */
  chooseSae: obj({ type: literal('chooseSae') }),
  /** Evaluate the SAE shown (its atlas of top images needs a current evaluation). */
  evaluateSae: obj({ type: literal('evaluateSae') }),
  trainSae: obj({ type: literal('trainSae') }),
});
export type ExplainWebviewMessage = Infer<typeof explainWebviewMessageSchema>;

/** `sae`: the SAE explicitly asked for (a folder), null for none, absent to use the model's chosen/only one. */
export const explainPanelStateSchema = obj({ model: str, image: str, classIndex: nullable(num), sae: optional(nullable(str)) });
export type ExplainPanelState = Infer<typeof explainPanelStateSchema>;

// ── the concept panel (FaCT: Open Concept) ──────────────────────────────────────────────────────────────────────

export const conceptViewSchema = obj({
  model: str,
  modelName: str,
  sae: str,
  saeName: str,
  layer: str,
  concept: num,
  dictSize: num,
  /** Share of evaluated images where the concept is present, and their count. */
  frequency: num,
  images: num,
  imagesEvaluated: nullable(num),
  meanPresence: num,
  meanContribution: num,
  /** Rank by mean contribution among the alive concepts (1 = largest), of `alive`. */
  rank: nullable(num),
  alive: nullable(num),
  /** Σ contribution per (predicted) class, largest first. */
  classes: arr(obj({ index: num, name: str, contribution: num })),
  /** The top images by presence, in the order of the strip. */
  top: arr(obj({ image: num, presence: num, contribution: num, label: str, predicted: str })),
  strip: nullable(str),
  c2: nullable(num),
  c2Random: nullable(num),
  /** The neighbours by mean contribution (for Previous/Next). */
  previous: nullable(num),
  next: nullable(num),
});
export type ConceptView = Infer<typeof conceptViewSchema>;

export const conceptHostMessageSchema = tagged({
  loading: obj({ type: literal('loading'), model: str, sae: str, saeName: str, concept: num }),
  concept: obj({ type: literal('concept'), view: conceptViewSchema }),
  error: obj({ type: literal('error'), message: str, evaluate: bool }),
  jobs: jobsMessage,
});
export type ConceptHostMessage = Infer<typeof conceptHostMessageSchema>;

export const conceptWebviewMessageSchema = tagged({
  ready: readyMessage,
  copyText: copyTextMessage,
  log: logMessage,
  cancelJob: cancelJobMessage,
  showConcept: obj({ type: literal('showConcept'), concept: num }),
  pickConcept: obj({ type: literal('pickConcept') }),
  openConsistency: obj({ type: literal('openConsistency') }),
  evaluate: obj({ type: literal('evaluate') }),
  revealSae: obj({ type: literal('revealSae') }),
});
export type ConceptWebviewMessage = Infer<typeof conceptWebviewMessageSchema>;

export const conceptPanelStateSchema = obj({ model: str, sae: str, concept: num });
export type ConceptPanelState = Infer<typeof conceptPanelStateSchema>;

// ── the consistency panel (FaCT: Measure Consistency) ───────────────────────────────────────────────────────────

export const consistencyRowSchema = obj({
  concept: num,
  images: num,
  score: num,
  random: num,
  frequency: nullable(num),
  meanContribution: nullable(num),
  topClass: nullable(str),
});
export type ConsistencyRowView = Infer<typeof consistencyRowSchema>;

export const consistencyViewSchema = obj({
  model: str,
  modelName: str,
  sae: str,
  saeName: str,
  layer: str,
  foundation: str,
  mean: num,
  randomMean: num,
  deltaRandom: num,
  conceptsInMean: num,
  minImagesForMean: num,
  dropped: num,
  rows: arr(consistencyRowSchema),
  measuredAt: nullable(str),
});
export type ConsistencyView = Infer<typeof consistencyViewSchema>;

export const consistencyHostMessageSchema = tagged({
  loading: obj({ type: literal('loading'), sae: str, saeName: str }),
  report: obj({ type: literal('report'), view: consistencyViewSchema }),
  error: obj({ type: literal('error'), message: str }),
  jobs: jobsMessage,
});
export type ConsistencyHostMessage = Infer<typeof consistencyHostMessageSchema>;

export const consistencyWebviewMessageSchema = tagged({
  ready: readyMessage,
  copyText: copyTextMessage,
  log: logMessage,
  cancelJob: cancelJobMessage,
  openConcept: obj({ type: literal('openConcept'), concept: num }),
  remeasure: obj({ type: literal('remeasure') }),
  revealSae: obj({ type: literal('revealSae') }),
});
export type ConsistencyWebviewMessage = Infer<typeof consistencyWebviewMessageSchema>;

export const consistencyPanelStateSchema = obj({ model: str, sae: str });
export type ConsistencyPanelState = Infer<typeof consistencyPanelStateSchema>;

// ── the training panel (FaCT: Train SAE) ────────────────────────────────────────────────────────────────────────

export const trainPointSchema = obj({
  step: num,
  epoch: num,
  loss: num,
  fvu: num,
  l0: num,
  dead: num,
  lr: num,
  vectorsPerSecond: num,
  etaSeconds: nullable(num),
  validation: nullable(num),
});

export const trainingViewSchema = obj({
  model: str,
  modelName: str,
  features: str,
  out: str,
  outName: str,
  layer: str,
  k: num,
  dictSize: num,
  epochs: nullable(num),
  batchSize: nullable(num),
  vectors: nullable(num),
  /** running, succeeded, failed, cancelled, or idle (shown from the saved log, nothing running). */
  status: str,
  message: str,
  fraction: nullable(num),
  totalSteps: nullable(num),
  startedAt: nullable(num),
  endedAt: nullable(num),
  error: nullable(str),
  /** A cancelled or failed run whose state was saved: Resume continues it. */
  resumable: bool,
  /** Every run of this checkpoint, in order (a resumed run continues the curves). */
  points: arr(trainPointSchema),
  runs: num,
  /** The first step of every resumed run (drawn as a dashed line). */
  breaks: arr(num),
  seconds: nullable(num),
});
export type TrainingView = Infer<typeof trainingViewSchema>;

export const trainingHostMessageSchema = tagged({
  training: obj({ type: literal('training'), view: trainingViewSchema }),
  error: obj({ type: literal('error'), message: str }),
  jobs: jobsMessage,
});
export type TrainingHostMessage = Infer<typeof trainingHostMessageSchema>;

export const trainingWebviewMessageSchema = tagged({
  ready: readyMessage,
  copyText: copyTextMessage,
  log: logMessage,
  cancelJob: cancelJobMessage,
  cancel: obj({ type: literal('cancel') }),
  resume: obj({ type: literal('resume') }),
  evaluate: obj({ type: literal('evaluate') }),
  revealSae: obj({ type: literal('revealSae') }),
});
export type TrainingWebviewMessage = Infer<typeof trainingWebviewMessageSchema>;

export const trainingPanelStateSchema = obj({ out: str });
export type TrainingPanelState = Infer<typeof trainingPanelStateSchema>;
