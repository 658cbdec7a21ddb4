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

const readyMessage = obj({ type: literal('ready') });
const copyTextMessage = obj({ type: literal('copyText'), text: str });
const logMessage = obj({ type: literal('log'), message: str, level: optional(str) });
const cancelJobMessage = obj({ type: literal('cancelJob'), id: num });

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

/** The model panel's schemas under their first names (the panel was the only one once). */
export const hostMessageSchema = modelHostMessageSchema;
export type HostMessage = ModelHostMessage;
export const webviewMessageSchema = modelWebviewMessageSchema;
export type WebviewMessage = ModelWebviewMessage;

// ── the explain panel (FaCT: Explain Image) ─────────────────────────────────────────────────────────────────────

export const classScoreSchema = obj({ index: num, name: str, logit: num, probability: num });
export type ClassScoreView = Infer<typeof classScoreSchema>;

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
});
export type ExplainView = Infer<typeof explainViewSchema>;

/** Host → explain panel. */
export const explainHostMessageSchema = tagged({
  /** Sent at once when a new image or class is asked for; the input picture comes along so it paints at once. */
  loading: obj({ type: literal('loading'), model: str, modelName: str, image: str, imageName: str, input: nullable(str), classIndex: nullable(num) }),
  explanation: obj({ type: literal('explanation'), view: explainViewSchema }),
  error: obj({ type: literal('error'), message: str }),
  jobs: jobsMessage,
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
});
export type ExplainWebviewMessage = Infer<typeof explainWebviewMessageSchema>;

export const explainPanelStateSchema = obj({ model: str, image: str, classIndex: nullable(num) });
export type ExplainPanelState = Infer<typeof explainPanelStateSchema>;
