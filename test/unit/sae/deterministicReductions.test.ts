// Every scatter and reduction pattern our graphs emit, each as a one-node graph with many repeated targets, run at
// 1, 2 and 4 intra-op threads (as the sessions that run it are opened) with integer data whose sums are exact in
// float32: a lost or doubled addition changes the result. (onnxruntime 1.30's ScatterND(add) on 2+ threads loses
// additions; the training step therefore runs it only in its one-thread accumulation session.)
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, attr } from '../../../src/core/onnx/graphBuilder';
import { encodeModel } from '../../../src/core/onnx/modelFile';
import { openSession, type SessionOptions } from '../../../src/core/onnx/session';
import { accumulationSessionOptions } from '../../../src/core/sae/trainStepSession';

const K = 1024,
  N = 8192,
  d = 16;
/** Target of update n: skewed (a few latents get most updates, as always-active concepts do) and deterministic. */
const target = (n: number) => (n % 3 === 0 ? n % 8 : (n * 7919) % K);

interface Pattern {
  name: string;
  /** How the product opens the session that runs it, given the thread count a job asked for. */
  session: (threads: number) => SessionOptions;
  build: (g: GraphBuilder) => void;
  feeds: () => Record<string, ort.Tensor>;
  expected: () => Float32Array;
}

const i64 = (len: number, f: (i: number) => number, dims: number[]) =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from({ length: len }, (_, i) => BigInt(f(i))),
    dims,
  );
const f32 = (len: number, f: (i: number) => number, dims: number[]) =>
  new ort.Tensor(
    'float32',
    Float32Array.from({ length: len }, (_, i) => f(i)),
    dims,
  );
const asked = (threads: number): SessionOptions => ({ threads });
/** Update value of element (n, p): small integers, so every partial sum is exact. */
const value = (n: number, p: number) => 1 + ((n + p) % 3);

const patterns: Pattern[] = [
  {
    // trainStepGraph.ts accumulate: gradient rows and fire counts, ScatterND(add) over [N,1] latent indices.
    name: "ScatterND add of rows (the step's gradient sums, in the accumulation session)",
    session: () => accumulationSessionOptions,
    build: (g) => {
      g.input('data', 'float32', [K, d]);
      g.input('idx', 'int64', [N, 1]);
      g.input('upd', 'float32', [N, d]);
      g.op('ScatterND', ['data', 'idx', 'upd'], { reduction: attr.string('add') }, 'out');
    },
    feeds: () => ({
      data: f32(K * d, () => 0, [K, d]),
      idx: i64(N, target, [N, 1]),
      upd: f32(N * d, (i) => value(Math.floor(i / d), i % d), [N, d]),
    }),
    expected: () => {
      const out = new Float32Array(K * d);
      for (let n = 0; n < N; n++) for (let p = 0; p < d; p++) out[target(n) * d + p]! += value(n, p);
      return out;
    },
  },
  {
    // trainStepGraph.ts coefficients: the "fired" mask, ScatterElements without reduction where repeats write the same 1.
    name: "ScatterElements of equal values into a mask (the step's fired latents)",
    session: asked,
    build: (g) => {
      g.input('data', 'float32', [K + 1]);
      g.input('idx', 'int64', [N]);
      g.input('upd', 'float32', [N]);
      g.op('ScatterElements', ['data', 'idx', 'upd'], { axis: attr.int(0) }, 'out');
    },
    feeds: () => ({
      data: f32(K + 1, () => 0, [K + 1]),
      idx: i64(N, (n) => (n % 5 === 0 ? K : target(n)), [N]),
      upd: f32(N, () => 1, [N]),
    }),
    expected: () => {
      const out = new Float32Array(K + 1);
      for (let n = 0; n < N; n++) out[n % 5 === 0 ? K : target(n)] = 1;
      return out;
    },
  },
  {
    // engine/transpose.ts scatterBack: MaxPool's transpose, ScatterElements(add) along axis 1.
    name: "ScatterElements add along axis 1 (MaxPool's transpose in explanations)",
    session: asked,
    build: (g) => {
      g.input('data', 'float32', [2, K]);
      g.input('idx', 'int64', [2, N]);
      g.input('upd', 'float32', [2, N]);
      g.op('ScatterElements', ['data', 'idx', 'upd'], { axis: attr.int(1), reduction: attr.string('add') }, 'out');
    },
    feeds: () => ({
      data: f32(2 * K, () => 0, [2, K]),
      idx: i64(2 * N, (i) => target(i % N), [2, N]),
      upd: f32(2 * N, (i) => value(i, 0), [2, N]),
    }),
    expected: () => {
      const out = new Float32Array(2 * K);
      for (let i = 0; i < 2 * N; i++) out[Math.floor(i / N) * K + target(i % N)]! += value(i, 0);
      return out;
    },
  },
  ...(['ReduceSum', 'ReduceMean'] as const).map((op): Pattern => ({
    // The step's column sums and batch means, emit.ts's sums and means: over axis 0 of a [N,d] matrix.
    name: `${op} over axis 0`,
    session: asked,
    build: (g) => {
      g.input('x', 'float32', [N, d]);
      g.op(op, ['x', g.constant('axes', 'int64', [1], [0])], { keepdims: attr.int(1) }, 'out');
    },
    feeds: () => ({ x: f32(N * d, (i) => value(Math.floor(i / d), i % d), [N, d]) }),
    expected: () => {
      const out = new Float32Array(d);
      for (let n = 0; n < N; n++) for (let p = 0; p < d; p++) out[p]! += value(n, p);
      return op === 'ReduceMean' ? out.map((v) => v / N) : out;
    },
  })),
  {
    // The step's Σ of squares of whole tensors (loss, metrics, clipping norm).
    name: 'ReduceSumSquare over everything',
    session: asked,
    build: (g) => {
      g.input('x', 'float32', [N, d]);
      g.op('ReduceSumSquare', ['x'], { keepdims: attr.int(0) }, 'out');
    },
    feeds: () => ({ x: f32(N * d, (i) => value(i, 0), [N, d]) }),
    expected: () => {
      let s = 0;
      for (let i = 0; i < N * d; i++) s += value(i, 0) ** 2;
      return Float32Array.of(s);
    },
  },
];

describe('scatter and reduction patterns of our graphs', () => {
  for (const p of patterns) {
    it(`${p.name}: exact at 1, 2 and 4 threads`, async () => {
      const g = new GraphBuilder('pattern');
      p.build(g);
      g.output('out', 'float32');
      const model = encodeModel(g.model(18));
      const expected = p.expected();
      for (const threads of [1, 2, 4]) {
        const { session } = await openSession(model, p.session(threads));
        try {
          for (let run = 0; run < 2; run++) {
            const got = (await session.run(p.feeds())).out!.data as Float32Array;
            let wrong = 0;
            for (let i = 0; i < expected.length; i++) if (got[i] !== expected[i]) wrong++;
            assert.equal(wrong, 0, `${threads} threads, run ${run}: ${wrong} of ${expected.length} sums differ`);
          }
        } finally {
          await session.release();
        }
      }
    });
  }
});
