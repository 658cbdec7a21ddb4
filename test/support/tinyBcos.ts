// A tiny, structurally faithful B-cos-v2 CNN built directly as an ONNX graph, with PyTorch-style module scopes in
// its node names. The unit tests use it where the shipped default model would be slow or might not exist.
import { GraphBuilder, attr } from '../../src/core/onnx/graphBuilder';
import type { OnnxModel } from '../../src/core/onnx/types';

export interface TinyOptions {
  channels?: 1 | 3;
  /** Put the [x, 1 − x] Concat inside the graph (input has 1/3 channels) instead of feeding encoded images. */
  encodingInGraph?: boolean;
  side?: number;
  classes?: number;
  seed?: number;
  /** Give one conv a bias (a model the engine must reject). */
  withConvBias?: boolean;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** Unit-norm conv weights (norm over in×kh×kw per output channel), as B-cos-v2 uses them. */
function unitNormWeights(out: number, inC: number, k: number, rand: () => number): Float32Array {
  const w = Float32Array.from({ length: out * inC * k * k }, rand);
  const per = inC * k * k;
  for (let o = 0; o < out; o++) {
    let n = 0;
    for (let i = 0; i < per; i++) n += w[o * per + i]! ** 2;
    n = Math.sqrt(n);
    for (let i = 0; i < per; i++) w[o * per + i]! /= n;
  }
  return w;
}

/** One B-cos conv (b = 2): y = lin · |lin| / ‖patch‖, the patch norm taken over the zero-padded window. */
function bcosConv(
  g: GraphBuilder,
  scope: string,
  x: string,
  inC: number,
  outC: number,
  k: number,
  stride: number,
  rand: () => number,
  bias = false,
): string {
  const pad = (k - 1) / 2;
  const w = g.constant(`${scope}.weight`, 'float32', [outC, inC, k, k], unitNormWeights(outC, inC, k, rand));
  const convInputs = [x, w];
  if (bias) convInputs.push(g.constant(`${scope}.bias`, 'float32', [outC], Float32Array.from({ length: outC }, rand)));
  const convAttrs = { kernel_shape: attr.ints([k, k]), strides: attr.ints([stride, stride]), pads: attr.ints([pad, pad, pad, pad]) };
  const lin = g.op('Conv', convInputs, convAttrs, undefined, `/${scope}/linear/Conv`);
  const sq = g.op('Mul', [x, x], {}, undefined, `/${scope}/Mul`);
  const axes = g.constant('axes', 'int64', [1], [1]);
  const ss = g.op('ReduceSum', [sq, axes], { keepdims: attr.int(1) }, undefined, `/${scope}/ReduceSum`);
  const ones = g.constant('ones', 'float32', [1, 1, k, k], new Float32Array(k * k).fill(1));
  const patch = g.op('Conv', [ss, ones], convAttrs, undefined, `/${scope}/Conv`);
  const eps = g.constant('eps', 'float32', [], [1e-6]);
  const norm = g.op('Sqrt', [g.op('Add', [patch, eps], {}, undefined, `/${scope}/Add`)], {}, undefined, `/${scope}/Sqrt`);
  const cos = g.op('Abs', [g.op('Div', [lin, norm], {}, undefined, `/${scope}/Div`)], {}, undefined, `/${scope}/Abs`);
  return g.op('Mul', [lin, cos], {}, undefined, `/${scope}/Mul_1`);
}

export function buildTinyBcosModel(opts: TinyOptions = {}): OnnxModel {
  const c = opts.channels ?? 1;
  const side = opts.side ?? 8;
  const classes = opts.classes ?? 3;
  const rand = rng(opts.seed ?? 7);
  const g = new GraphBuilder('tiny_bcos');
  let x: string;
  if (opts.encodingInGraph) {
    const raw = g.input('image', 'float32', ['N', c, side, side]);
    const one = g.constant('one', 'float32', [], [1]);
    const inv = g.op('Sub', [one, raw], {}, undefined, '/encode/Sub');
    x = g.op('Concat', [raw, inv], { axis: attr.int(1) }, undefined, '/encode/Concat');
  } else {
    x = g.input('input', 'float32', ['N', 2 * c, side, side]);
  }
  const h1 = bcosConv(g, 'layer1', x, 2 * c, 8, 3, 1, rand, opts.withConvBias);
  // layer2: a residual block, so its inner tensors are not boundaries but its output is.
  const a = bcosConv(g, 'layer2.0.conv1', h1, 8, 8, 3, 1, rand);
  const b = bcosConv(g, 'layer2.0.conv2', a, 8, 8, 3, 1, rand);
  const h2 = g.op('Add', [b, h1], {}, 'layer2', '/layer2/layer2.0/Add');
  const h3 = bcosConv(g, 'layer3', h2, 8, 16, 3, 2, rand);
  const head = bcosConv(g, 'classifier', h3, 16, classes, 1, 1, rand);
  const pooled = g.op('ReduceMean', [head], { axes: attr.ints([2, 3]), keepdims: attr.int(0) }, undefined, '/pool/ReduceMean');
  const bias = g.constant('logit_bias', 'float32', [1], [-Math.log(999)]);
  g.op('Add', [pooled, bias], {}, 'logits', '/logit_layer/Add');
  g.output('logits', 'float32', ['N', classes]);
  return g.model(17);
}
