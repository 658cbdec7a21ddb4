// The messages between the extension host and the webviews, declared once here and imported by both sides.
// Every message is validated on arrival; an invalid one is logged and dropped, never half-handled.
import { arr, bool, literal, nullable, num, obj, optional, str, tagged, type Infer } from './schema';

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

/** Host → webview. */
export const hostMessageSchema = tagged({
  loading: obj({ type: literal('loading'), file: str }),
  model: obj({ type: literal('model'), model: modelViewSchema }),
  error: obj({ type: literal('error'), message: str }),
});
export type HostMessage = Infer<typeof hostMessageSchema>;

/** Webview → host. */
export const webviewMessageSchema = tagged({
  ready: obj({ type: literal('ready') }),
  copyText: obj({ type: literal('copyText'), text: str }),
  revealModel: obj({ type: literal('revealModel') }),
  reload: obj({ type: literal('reload') }),
  log: obj({ type: literal('log'), message: str, level: optional(str) }),
});
export type WebviewMessage = Infer<typeof webviewMessageSchema>;

/** What a panel stores to be restored after a window reload. */
export const modelPanelStateSchema = obj({ file: str });
export type ModelPanelState = Infer<typeof modelPanelStateSchema>;
