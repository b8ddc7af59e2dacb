import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '@decodekit/core';
import { buildLlamaGraph } from './graph-builder.js';
import {
  type HyperAttentionOptions,
  hyperAttentionDepth,
  hyperAttentionSettings,
  hyperAttentionTables,
  hyperAttentionWriter,
} from './hyper-attention.js';
import { hyperAttentionReference } from './hyper-attention-reference.js';
import { ElemType, createGraphWriter, encodeModel } from './onnx-writer.js';
import { GraphRunner, maxAbsDiff } from './ort-test-utils.js';
import { seededRandom } from './seeded-random.js';
import { randomLlamaWeights } from './tiny-model.js';
import type { LlamaConfig } from './llama-config.js';

const HEADS = 2;
const HEAD_DIM = 8;
const CONTEXT = 512;
const OPTIONS: HyperAttentionOptions = {
  minSeqLen: 32,
  blockSize: 8,
  sampleSize: 6,
  lshProjections: 3,
  seed: 7,
};

function randomTensor(length: number, seed: number, scale = 1): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => random.normal() * scale);
}

/** A graph of the attention alone: q, k, v [1, heads, n, D] → attention [1, heads, n, D]. */
async function attentionSession(options: HyperAttentionOptions) {
  const g = createGraphWriter();
  for (const name of ['q', 'k', 'v']) g.input(name, ElemType.float, [1, HEADS, 'n', HEAD_DIM]);
  const settings = hyperAttentionSettings(options, 1);
  const write = hyperAttentionWriter(g, settings, HEAD_DIM, HEADS, CONTEXT);
  g.op1('Identity', [write(g, 'q', 'k', 'v')], {}, 'attention');
  g.output('attention', ElemType.float, [1, HEADS, 'n', HEAD_DIM]);
  const session = await ort.InferenceSession.create(encodeModel(g.toGraph('hyper')), {
    intraOpNumThreads: 1,
  });
  return { session, settings };
}

async function attend(session: ort.InferenceSession, rows: number, seed: number) {
  const size = HEADS * rows * HEAD_DIM;
  // Queries carry the 1/√D scale, as the builder's do.
  const q = randomTensor(size, seed, 1 / Math.sqrt(HEAD_DIM));
  const k = randomTensor(size, seed + 1);
  const v = randomTensor(size, seed + 2);
  const dims = [1, HEADS, rows, HEAD_DIM];
  const result = await session.run({
    q: new ort.Tensor('float32', q, dims),
    k: new ort.Tensor('float32', k, dims),
    v: new ort.Tensor('float32', v, dims),
  });
  return { q, k, v, out: result.attention.data as Float32Array };
}

function exactCausal(q: Float32Array, k: Float32Array, v: Float32Array, rows: number) {
  const out = new Float64Array(q.length);
  for (let h = 0; h < HEADS; h++) {
    for (let i = 0; i < rows; i++) {
      const base = h * rows * HEAD_DIM;
      const scores = Array.from({ length: i + 1 }, (_, j) => {
        let sum = 0;
        for (let c = 0; c < HEAD_DIM; c++)
          sum += q[base + i * HEAD_DIM + c] * k[base + j * HEAD_DIM + c];
        return sum;
      });
      const top = Math.max(...scores);
      const weights = scores.map(score => Math.exp(score - top));
      const total = weights.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j++)
        for (let c = 0; c < HEAD_DIM; c++)
          out[base + i * HEAD_DIM + c] += (weights[j] / total) * v[base + j * HEAD_DIM + c];
    }
  }
  return out;
}

describe('HyperAttention graph against the plain-loop reference', () => {
  let session: ort.InferenceSession;
  let settings: ReturnType<typeof hyperAttentionSettings>;
  beforeAll(async () => {
    ({ session, settings } = await attentionSession(OPTIONS));
  });
  afterAll(() => session.release());

  test.each([
    // exact (≤ minSeqLen), a split whose halves are exact (< minSeqLen off-diagonal), an odd length, and
    // lengths that reach sortLSH + residual at two recursion levels with block padding.
    [20],
    [61],
    [64],
    [65],
    [131],
    [300],
  ])('%i rows', async rows => {
    const { q, k, v, out } = await attend(session, rows, rows);
    const tables = hyperAttentionTables(
      settings,
      HEAD_DIM,
      HEADS * 2 ** hyperAttentionDepth(CONTEXT, 32),
    );
    const reference = hyperAttentionReference(
      q,
      k,
      v,
      { heads: HEADS, rows, headDim: HEAD_DIM },
      settings,
      tables,
      CONTEXT,
    );
    expect(maxAbsDiff(out, reference)).toBeLessThan(1e-4);
    const exact = exactCausal(q, k, v, rows);
    const error = maxAbsDiff(out, exact);
    // Up to 2·minSeqLen rows every part is exact; beyond, the approximation shows.
    if (rows < 2 * 32) expect(error).toBeLessThan(1e-4);
    else expect(error).toBeGreaterThan(1e-3);
  });

  test('a different seed draws other hyperplanes and columns (the comparison above can fail)', async () => {
    const rows = 300;
    const { q, k, v, out } = await attend(session, rows, rows);
    const other = hyperAttentionSettings({ ...OPTIONS, seed: 8 }, 1);
    const tables = hyperAttentionTables(
      other,
      HEAD_DIM,
      HEADS * 2 ** hyperAttentionDepth(CONTEXT, 32),
    );
    const reference = hyperAttentionReference(
      q,
      k,
      v,
      { heads: HEADS, rows, headDim: HEAD_DIM },
      other,
      tables,
      CONTEXT,
    );
    expect(maxAbsDiff(out, reference)).toBeGreaterThan(1e-3);
  });

  test('the same input gives the same output (no per-call randomness)', async () => {
    const first = await attend(session, 300, 3);
    const second = await attend(session, 300, 3);
    expect(Array.from(second.out)).toEqual(Array.from(first.out));
  });
});

/** Rows whose argmax agrees. */
function agreement(a: Float32Array, b: Float32Array, rows: number): number {
  const vocab = a.length / rows;
  let same = 0;
  for (let r = 0; r < rows; r++) {
    const x = Array.from(a.subarray(r * vocab, (r + 1) * vocab));
    const y = Array.from(b.subarray(r * vocab, (r + 1) * vocab));
    if (x.indexOf(Math.max(...x)) === y.indexOf(Math.max(...y))) same++;
  }
  return same;
}

describe('HyperAttention in a Llama graph', () => {
  const config: LlamaConfig = {
    vocabSize: 64,
    dim: 32,
    hiddenDim: 64,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    contextLength: CONTEXT,
    tiedEmbeddings: true,
  };
  const shape = { numLayers: 2, numKvHeads: 2, headDim: 8, vocabSize: 64 };
  const weights = randomLlamaWeights(config, 3);
  const prompt = (rows: number) => Array.from({ length: rows }, (_, i) => (i * 7 + 3) % 64);
  let exact: GraphRunner;
  let hyper: GraphRunner;
  let hyperPlain: GraphRunner;
  let exactPlain: GraphRunner;
  beforeAll(async () => {
    exact = await GraphRunner.create(buildLlamaGraph(config, weights), shape);
    hyper = await GraphRunner.create(
      buildLlamaGraph(config, weights, { hyperAttention: OPTIONS }),
      shape,
    );
    exactPlain = await GraphRunner.create(buildLlamaGraph(config, weights, { plain: true }), shape);
    hyperPlain = await GraphRunner.create(
      buildLlamaGraph(config, weights, { plain: true, hyperAttention: OPTIONS }),
      shape,
    );
  });
  afterAll(async () => {
    for (const runner of [exact, hyper, exactPlain, hyperPlain]) await runner.release();
  });

  test.each([
    ['extended', () => [exact, hyper] as const],
    ['plain', () => [exactPlain, hyperPlain] as const],
  ])(
    '%s: a prompt of at most minSeqLen rows is bit-identical to exact attention',
    async (_, pair) => {
      const [a, b] = pair();
      for (const rows of [1, 17, 32]) {
        const [x, y] = await Promise.all([
          a.step(a.emptyPast(), { ids: prompt(rows) }),
          b.step(b.emptyPast(), { ids: prompt(rows) }),
        ]);
        expect(Array.from(y.logits)).toEqual(Array.from(x.logits));
      }
    },
  );

  test('a long prefill is approximate; decode steps and multi-row forwards on a cache stay bit-identical', async () => {
    const rows = 200;
    const x = await exact.step(exact.emptyPast(), { ids: prompt(rows) });
    const y = await hyper.step(hyper.emptyPast(), { ids: prompt(rows) });
    const difference = maxAbsDiff(x.logits, y.logits);
    expect(difference).toBeGreaterThan(1e-4);
    // Close to exact: the greedy token of almost every row is unchanged on this random model (190 of 200)…
    expect(agreement(x.logits, y.logits, rows)).toBeGreaterThanOrEqual(180);
    // …and larger blocks and samples come closer (block 32, 32 columns: 199 of 200).
    const wider = await GraphRunner.create(
      buildLlamaGraph(config, weights, {
        hyperAttention: { ...OPTIONS, blockSize: 32, sampleSize: 32 },
      }),
      shape,
    );
    const z = await wider.step(wider.emptyPast(), { ids: prompt(rows) });
    await wider.release();
    expect(maxAbsDiff(x.logits, z.logits)).toBeLessThan(difference);
    // The same cache: a one-row step and a 40-row chain (more than minSeqLen rows, but on a cache) agree bit for bit.
    for (const ids of [[5], prompt(40)]) {
      const [a, b] = await Promise.all([
        exact.step(x.present, { ids }),
        hyper.step(x.present, { ids }),
      ]);
      expect(Array.from(b.logits)).toEqual(Array.from(a.logits));
    }
  });

  test('only the listed layers use it', async () => {
    const lastOnly = await GraphRunner.create(
      buildLlamaGraph(config, weights, { hyperAttention: { ...OPTIONS, layers: [1] } }),
      shape,
    );
    const rows = 200;
    const [x, y, z] = await Promise.all([
      exact.step(exact.emptyPast(), { ids: prompt(rows) }),
      hyper.step(hyper.emptyPast(), { ids: prompt(rows) }),
      lastOnly.step(lastOnly.emptyPast(), { ids: prompt(rows) }),
    ]);
    // Layer 0 exact: its cache (present.1.* is written from layer 1's input) equals the exact graph's.
    expect(Array.from(z.present[2].data as Float32Array)).toEqual(
      Array.from(x.present[2].data as Float32Array),
    );
    expect(
      maxAbsDiff(y.present[2].data as Float32Array, x.present[2].data as Float32Array),
    ).toBeGreaterThan(0);
    await lastOnly.release();
  });

  test('bad options are typed errors that say what to do', () => {
    expect(() => buildLlamaGraph(config, weights, { hyperAttention: { layers: [2] } })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      buildLlamaGraph(config, weights, { hyperAttention: { minSeqLen: 8, blockSize: 16 } }),
    ).toThrow(/must not exceed minSeqLen/);
    expect(() =>
      buildLlamaGraph(config, weights, {
        plain: true,
        attention: 'group-query',
        hyperAttention: {},
      }),
    ).toThrow(/decomposed/);
  });
});
