// The webview's side of the message channel: typed posting, validated receiving, and persisted state.
// A panel calls `channel(hostSchema, webviewSchema)` once with its own pair of schemas from protocol.ts.
import { validate, type Schema } from './schema';

interface VsCodeApi {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

// acquireVsCodeApi may be called only once per page.
const api: VsCodeApi = acquireVsCodeApi();

export interface Channel<H, W> {
  post(message: W): void;
  onMessage(handler: (m: H) => void): void;
}

export function channel<H, W extends { type: string }>(hostSchema: Schema<H>, webviewSchema: Schema<W>): Channel<H, W> {
  const post = (message: W): void => {
    // Validate outgoing messages too: a bug here should show up in the webview's console, not as a silent drop.
    const v = validate(webviewSchema, message);
    if (!v.ok) console.error(`FaCT: refusing to send an invalid message: ${v.error}`);
    else api.postMessage(message);
  };
  return {
    post,
    onMessage(handler) {
      window.addEventListener('message', (event: MessageEvent) => {
        const v = validate(hostSchema, event.data);
        if (!v.ok) {
          api.postMessage({ type: 'log', level: 'error', message: `webview dropped an invalid host message: ${v.error}` });
          return;
        }
        handler(v.value);
      });
    },
  };
}

export function getState<T>(schema: Schema<T>): T | undefined {
  const v = validate(schema, api.getState(), 'state');
  return v.ok ? v.value : undefined;
}

export function setState(state: unknown): void {
  api.setState(state);
}
