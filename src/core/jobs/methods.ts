// The operations the editor and the CLI ask of the core, with their parameter and result types declared once.
// The worker thread dispatches on these names; the CLI calls the same handlers in-process.
import type { CallContext } from './callContext';
import { modelHandlers, type ModelMethods } from './modelMethods';
import { saeHandlers, type SaeMethods } from './saeMethods';
import type { CoreServices } from './services';
import { trackProviders, type RanOn } from '../onnx/providerUsage';

export type { CallContext } from './callContext';
export type { ExplainResult, ExplanationSummary, ImagePrediction } from './modelMethods';
export { formatSeconds } from './modelMethods';
export type { RanOn } from '../onnx/providerUsage';

export type CoreMethods = ModelMethods & SaeMethods;
export type MethodName = keyof CoreMethods;

/** Every result also says which execution provider(s) ran it and, on a fallback, why. */
export type MethodResult<M extends MethodName> = CoreMethods[M]['result'] & RanOn;

type Handler<M extends MethodName> = (
  params: CoreMethods[M]['params'],
  services: CoreServices,
  call: CallContext,
) => Promise<CoreMethods[M]['result']>;
type Handlers = {
  [M in MethodName]: (params: CoreMethods[M]['params'], services: CoreServices, call: CallContext) => Promise<MethodResult<M>>;
};

const plain: { [M in MethodName]: Handler<M> } = { ...modelHandlers, ...saeHandlers };

function withRanOn<M extends MethodName>(
  h: Handler<M>,
): (params: CoreMethods[M]['params'], services: CoreServices, call: CallContext) => Promise<MethodResult<M>> {
  return async (params, services, call) => {
    const { value, ranOn } = await trackProviders((usage) =>
      h(params, services, {
        ...call,
        // A long job on a GPU says so in its progress ("… (on webgpu)"); CPU runs read as before.
        progress: (message, fraction, data) => call.progress(onGpu(message, usage.summary()), fraction, data),
      }),
    );
    return { ...value, ...ranOn };
  };
}

function onGpu(message: string, ran: RanOn): string {
  return ran.executionProvider && ran.executionProvider !== 'cpu' ? `${message} (on ${ran.executionProvider})` : message;
}

export const handlers = Object.fromEntries(
  Object.entries(plain).map(([name, h]) => [name, withRanOn(h as Handler<MethodName>)]),
) as Handlers;
