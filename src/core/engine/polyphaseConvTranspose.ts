// The transpose of a strided 2-D Conv as stride-1 convolutions, one per output phase, interleaved by DepthToSpace.
// onnxruntime's ConvTranspose computes the full kernel product and scatters it back (col2im), which made it the
// slowest op of a ResNet-50 explanation; the same sums, split by where they land, are ordinary convolutions.
//
// Forward (one spatial axis): y[o] = Σ_k x[s·o + k·d − p]·W[k]. Its transpose gives input position i = s·a + r
// (phase r ∈ [0, s)) the taps k with k·d − p − r ≡ 0 (mod s); for those, o = a − q_k with q_k = (k·d − p − r)/s.
// The taps of a phase are k0, k0 + Δ, k0 + 2Δ, … (Δ = s/gcd(s,d)), their q step d' = d/gcd(s,d): a stride-1 Conv of
// the cotangent with the sub-kernel flipped, dilation d' and begin padding q0 + (T − 1)·d'.
import { attr } from '../onnx/graphBuilder';
import type { Emitter } from './emit';

export interface StridedConv {
  /** The forward Conv's weight [M, C/G, kh, kw] and its values. */
  weights: ArrayLike<number>;
  weightShape: number[];
  group: number;
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  /** Spatial sizes of the forward input x (what the transpose must produce) and output y (the cotangent's). */
  inSpatial: number[];
  outSpatial: number[];
}

/** One axis of one phase: the forward taps it uses, in the order the sub-kernel holds them, and its Conv geometry. */
interface AxisPhase {
  taps: number[];
  dilation: number;
  padBegin: number;
  padEnd: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The phases of one axis, or undefined when a phase would need a negative padding (then ConvTranspose is used). */
function axisPhases(
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  inLen: number,
  outLen: number,
): (AxisPhase | null)[] | undefined {
  const common = gcd(stride, dilation);
  const subDilation = dilation / common;
  const phaseLen = Math.ceil(inLen / stride);
  const phases: (AxisPhase | null)[] = [];
  for (let r = 0; r < stride; r++) {
    const taps: number[] = [];
    for (let k = 0; k < kernel; k++) if ((((k * dilation - padBegin - r) % stride) + stride) % stride === 0) taps.push(k);
    if (taps.length === 0) {
      phases.push(null); // no tap lands on this phase: its input positions get no gradient
      continue;
    }
    const q0 = (taps[0]! * dilation - padBegin - r) / stride;
    const span = (taps.length - 1) * subDilation;
    const padBeginR = q0 + span;
    // Output length of a stride-1 Conv: outLen + pb + pe − span = phaseLen.
    const padEndR = phaseLen - outLen - padBeginR + span;
    if (padBeginR < 0 || padEndR < 0) return undefined;
    phases.push({ taps: [...taps].reverse(), dilation: subDilation, padBegin: padBeginR, padEnd: padEndR });
  }
  return phases;
}

/** onnxruntime's NCHWc convolutions compute output channels in blocks of this many (16 with AVX-512, 8 with AVX2):
 *  a Conv with few output channels costs as much as one with a whole block. */
const CHANNEL_BLOCK = 16;
const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** The phases of one axis placed in one common kernel: each phase's taps start at its offset, the rest are zero. */
interface MergedAxis {
  kernel: number;
  offsets: number[];
  padBegin: number;
  padEnd: number;
}

function mergeAxis(phases: (AxisPhase | null)[], inLen: number, outLen: number, stride: number): MergedAxis | undefined {
  const real = phases.filter((p): p is AxisPhase => p !== null);
  const dilation = real[0]!.dilation;
  const padBegin = Math.max(...real.map((p) => p.padBegin));
  if (real.some((p) => (padBegin - p.padBegin) % dilation !== 0)) return undefined;
  const offsets = phases.map((p) => (p ? (padBegin - p.padBegin) / dilation : 0));
  const kernel = Math.max(...phases.map((p, r) => (p ? offsets[r]! + p.taps.length : 0)));
  const padEnd = Math.ceil(inLen / stride) - outLen - padBegin + (kernel - 1) * dilation;
  return { kernel, offsets, padBegin, padEnd };
}

/** The cotangent of x as a stride-1 Conv per phase + Concat + DepthToSpace (+ Slice to x's size), or undefined when
 *  this Conv does not decompose that way (a non-2-D kernel, unequal strides, a negative phase padding) or is better
 *  left to ConvTranspose (a kernel no wider than the stride). When x has
 *  few channels (a stem's 3 or 6), every phase's Conv would compute a mostly empty channel block: then all phases
 *  are one Conv whose output channels are the phases, each phase's taps placed in a common kernel. */
export function polyphaseConvTranspose(e: Emitter, g: string, conv: StridedConv): string | undefined {
  const { weightShape, group, strides } = conv;
  if (weightShape.length !== 4 || strides.length !== 2 || strides[0] !== strides[1]) return undefined;
  const s = strides[0]!;
  const rows = axisPhases(weightShape[2]!, s, conv.dilations[0]!, conv.padsBegin[0]!, conv.inSpatial[0]!, conv.outSpatial[0]!);
  const cols = axisPhases(weightShape[3]!, s, conv.dilations[1]!, conv.padsBegin[1]!, conv.inSpatial[1]!, conv.outSpatial[1]!);
  if (!rows || !cols) return undefined;
  const merged = group === 1 ? mergedPhases(e, g, conv, rows, cols) : undefined;
  // A kernel no wider than the stride (a 1×1 downsampling shortcut) leaves phases without taps and gives the others
  // one tap each: ConvTranspose computes that as one product scattered without overlaps (no col2im sums), faster
  // than Convs concatenated with zero phases and interleaved (ResNet-50's 1×1 stride-2 shortcuts: 30 -> 18 ms at batch 8).
  const phases = [...rows, ...cols];
  if (!merged && phases.some((p) => p === null) && phases.every((p) => p === null || p.taps.length === 1)) return undefined;
  const stacked = merged ?? separatePhases(e, g, conv, rows, cols);
  // Phases in row-major order along channels = DepthToSpace's DCR layout: channel (rh·s + rw)·C + c → (s·a + rh, s·b + rw).
  const interleaved = e.b.op('DepthToSpace', [stacked], { blocksize: attr.int(s), mode: attr.string('DCR') });
  const [h, w] = conv.inSpatial as [number, number];
  const [ph, pw] = [Math.ceil(h / s), Math.ceil(w / s)];
  return ph * s === h && pw * s === w ? interleaved : e.slice(interleaved, [0, 0], [h, w], [2, 3]);
}

/** Sub-kernel of one phase as a Conv weight: [C, M/G, Th, Tw], channel axes swapped per group, taps flipped. */
function phaseWeights(conv: StridedConv, row: AxisPhase, col: AxisPhase): Float32Array {
  const [m, cg, kh, kw] = conv.weightShape as [number, number, number, number];
  const { group } = conv;
  const mg = m / group;
  const [th, tw] = [row.taps.length, col.taps.length];
  const sub = new Float32Array(cg * group * mg * th * tw);
  for (let gr = 0; gr < group; gr++) {
    for (let o = 0; o < mg; o++) {
      for (let ci = 0; ci < cg; ci++) {
        const src = ((gr * mg + o) * cg + ci) * kh * kw;
        const dst = ((gr * cg + ci) * mg + o) * th * tw;
        for (let a = 0; a < th; a++)
          for (let b = 0; b < tw; b++) sub[dst + a * tw + b] = conv.weights[src + row.taps[a]! * kw + col.taps[b]!]!;
      }
    }
  }
  return sub;
}

/** One Conv per phase (zeros for a phase no tap lands on), concatenated along channels. */
function separatePhases(e: Emitter, g: string, conv: StridedConv, rows: (AxisPhase | null)[], cols: (AxisPhase | null)[]): string {
  const { weightShape, group } = conv;
  const s = conv.strides[0]!;
  const c = weightShape[1]! * group;
  const mg = weightShape[0]! / group;
  const [ph, pw] = [Math.ceil(conv.inSpatial[0]! / s), Math.ceil(conv.inSpatial[1]! / s)];
  const phases: string[] = [];
  for (const row of rows) {
    for (const col of cols) {
      if (!row || !col) {
        phases.push(e.zerosLike(g, [c, ph, pw]));
        continue;
      }
      const [th, tw] = [row.taps.length, col.taps.length];
      phases.push(
        e.b.op('Conv', [g, e.b.constant('conv_t_phase', 'float32', [c, mg, th, tw], phaseWeights(conv, row, col))], {
          dilations: attr.ints([row.dilation, col.dilation]),
          group: attr.int(group),
          kernel_shape: attr.ints([th, tw]),
          pads: attr.ints([row.padBegin, col.padBegin, row.padEnd, col.padEnd]),
        }),
      );
    }
  }
  return phases.length === 1 ? phases[0]! : e.b.op('Concat', phases, { axis: attr.int(1) });
}

/** All phases as one Conv (group 1) with s²·C output channels, when that computes fewer channel blocks × taps than
 *  one Conv per phase; undefined otherwise. */
function mergedPhases(
  e: Emitter,
  g: string,
  conv: StridedConv,
  rows: (AxisPhase | null)[],
  cols: (AxisPhase | null)[],
): string | undefined {
  const s = conv.strides[0]!;
  const [m, c] = conv.weightShape as [number, number];
  const mr = mergeAxis(rows, conv.inSpatial[0]!, conv.outSpatial[0]!, s);
  const mc = mergeAxis(cols, conv.inSpatial[1]!, conv.outSpatial[1]!, s);
  if (!mr || !mc) return undefined;
  let separateCost = 0;
  for (const row of rows)
    for (const col of cols) if (row && col) separateCost += roundUp(c, CHANNEL_BLOCK) * row.taps.length * col.taps.length;
  if (roundUp(s * s * c, CHANNEL_BLOCK) * mr.kernel * mc.kernel >= separateCost) return undefined;
  const [kh, kw] = [mr.kernel, mc.kernel];
  const w = new Float32Array(s * s * c * m * kh * kw);
  rows.forEach((row, rh) =>
    cols.forEach((col, rw) => {
      if (!row || !col) return; // no tap lands on this phase: its filters stay zero
      const sub = phaseWeights(conv, row, col); // [C, M, Th, Tw]
      const [th, tw] = [row.taps.length, col.taps.length];
      const [oa, ob] = [mr.offsets[rh]!, mc.offsets[rw]!];
      for (let ci = 0; ci < c; ci++)
        for (let o = 0; o < m; o++)
          for (let a = 0; a < th; a++)
            for (let b = 0; b < tw; b++)
              w[((((rh * s + rw) * c + ci) * m + o) * kh + oa + a) * kw + ob + b] = sub[((ci * m + o) * th + a) * tw + b]!;
    }),
  );
  return e.b.op('Conv', [g, e.b.constant('conv_t_phases', 'float32', [s * s * c, m, kh, kw], w)], {
    dilations: attr.ints([rows.find((p) => p)!.dilation, cols.find((p) => p)!.dilation]),
    kernel_shape: attr.ints([kh, kw]),
    pads: attr.ints([mr.padBegin, mc.padBegin, mr.padEnd, mc.padEnd]),
  });
}
