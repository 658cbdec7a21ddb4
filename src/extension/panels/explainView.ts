// Turns the core's explanation into what the explain panel (and the HTML report) shows. No `vscode` import.
import * as path from 'node:path';
import type { ExplainResult } from '../../core/jobs/methods';
import type { ExplainView } from '../../../webview/shared/protocol';

export function toExplainView(r: ExplainResult, modelName: string, seconds: number): ExplainView {
  const e = r.explanation;
  const png = (b64: string) => `data:image/png;base64,${b64}`;
  return {
    model: r.model,
    modelName,
    image: r.image,
    imageName: path.basename(r.image),
    classIndex: e.classIndex,
    className: e.className,
    predicted: e.top[0]?.index === e.classIndex,
    top: e.top.map((c) => ({ index: c.index, name: c.name, logit: c.logit, probability: c.probability })),
    logit: e.logit,
    bias: e.bias,
    contributionSum: e.contributionSum,
    completenessError: e.completenessError,
    positiveContribution: e.positiveContribution,
    width: e.width,
    height: e.height,
    images: { input: png(r.png.input), explanation: png(r.png.explanation), contributions: png(r.png.contributions) },
    seconds,
  };
}
