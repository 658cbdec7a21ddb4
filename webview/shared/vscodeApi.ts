// The webview's side of the message channel: typed posting, validated receiving, and persisted state.
import { validate, type Schema } from './schema';
import { hostMessageSchema, webviewMessageSchema, type HostMessage, type WebviewMessage } from './protocol';

interface VsCodeApi { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void }
declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();

export function post(message: WebviewMessage): void {
  // Validate outgoing messages too: a bug here should show up in the webview's console, not as a silent drop.
  const v = validate(webviewMessageSchema, message);
  if (!v.ok) console.error(`FaCT: refusing to send an invalid message: ${v.error}`);
  else api.postMessage(message);
}

export function onHostMessage(handler: (m: HostMessage) => void): void {
  window.addEventListener('message', (event: MessageEvent) => {
    const v = validate(hostMessageSchema, event.data);
    if (!v.ok) {
      post({ type: 'log', level: 'error', message: `webview dropped an invalid host message: ${v.error}` });
      return;
    }
    handler(v.value);
  });
}

export function getState<T>(schema: Schema<T>): T | undefined {
  const v = validate(schema, api.getState(), 'state');
  return v.ok ? v.value : undefined;
}

export function setState(state: unknown): void {
  api.setState(state);
}
