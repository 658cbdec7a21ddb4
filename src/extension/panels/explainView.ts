// The core's explanations as the Explain panel's messages carry them. The conversion itself is the core's
// (src/core/report/reportViews.ts, shared with the HTML report); these typed wrappers make the compiler check that
// the protocol's view types and the core's report views are the same shapes. No `vscode` import.
import type { ExplainResult } from '../../core/jobs/methods';
import type { DecisionResult } from '../../core/jobs/saeMethods';
import { decisionReportView, explainReportView, stripReportView } from '../../core/report/reportViews';
import type { ConceptDecisionView, ConceptStripView, ExplainView } from '../../../webview/shared/protocol';

export function toExplainView(r: ExplainResult, modelName: string, seconds: number): ExplainView {
  return explainReportView(r, modelName, seconds);
}

export function toConceptDecisionView(r: DecisionResult, saeName: string, layer: string, seconds: number): ConceptDecisionView {
  return decisionReportView(r, saeName, layer, seconds);
}

export function toConceptStripView(...args: Parameters<typeof stripReportView>): ConceptStripView {
  return stripReportView(...args);
}
