// The operations the editor and the CLI ask of the core, with their parameter and result types declared once.
// The worker thread dispatches on these names; the CLI calls the same handlers in-process.
import type { CallContext } from './callContext';
import { modelHandlers, type ModelMethods } from './modelMethods';
import { saeHandlers, type SaeMethods } from './saeMethods';
import type { CoreServices } from './services';

export type { CallContext } from './callContext';
export type { ExplainResult, ExplanationSummary, ImagePrediction } from './modelMethods';
export { formatSeconds } from './modelMethods';

export type CoreMethods = ModelMethods & SaeMethods;
export type MethodName = keyof CoreMethods;

type Handlers = { [M in MethodName]: (params: CoreMethods[M]['params'], services: CoreServices, call: CallContext) => Promise<CoreMethods[M]['result']> };

export const handlers: Handlers = { ...modelHandlers, ...saeHandlers };
