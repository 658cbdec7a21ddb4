// Entry point of the worker thread that runs models off the caller's event loop (the extension host's, above all).
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from '../errors';
import { fileSystemError } from '../util/fileSystemError';
import type { ProgressData } from './callContext';
import { handlers, type MethodName } from './methods';
import { CoreServices, type CoreOptions } from './services';
import type { FromWorker, ToWorker } from './workerProtocol';

const port = parentPort;
if (!port) throw new Error('workerMain must run in a worker thread.');

const services = new CoreServices((workerData ?? {}) as CoreOptions);
const running = new Map<number, AbortController>();
const send = (m: FromWorker) => port.postMessage(m);

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') {
    running.get(msg.id)?.abort();
    return;
  }
  const abort = new AbortController();
  running.set(msg.id, abort);
  const handler = handlers[msg.method as MethodName] as (p: unknown, s: CoreServices, c: unknown) => Promise<unknown>;
  const call = {
    signal: abort.signal,
    progress: (message: string, fraction?: number, data?: ProgressData) =>
      send({ type: 'progress', id: msg.id, message, ...(fraction !== undefined ? { fraction } : {}), ...(data ? { data } : {}) }),
  };
  Promise.resolve()
    .then(() => {
      if (!handler) throw new Error(`Unknown core method '${msg.method}'.`);
      return handler(msg.params, services, call);
    })
    .then(
      (value) => send({ type: 'result', id: msg.id, value }),
      (e) => send({ type: 'error', id: msg.id, error: serializeError(fileSystemError(e) ?? e) }),
    )
    .finally(() => running.delete(msg.id));
});
