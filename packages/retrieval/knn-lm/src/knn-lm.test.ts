import {
  InvalidArgumentError,
  type ForwardInput,
  type ForwardOutput,
  type Sequence,
} from '@decodekit/core';
import { assert, describe, expect, it } from 'vitest';
import type { Datastore } from './datastore.js';
import { knnLm } from './knn-lm.js';
import { exactSearch, hnswSearch } from './neighbor-search.js';

// 3 keys in 2-D, 4-token vocabulary.
const datastore: Datastore = {
  dimensions: 2,
  size: 3,
  keys: Float32Array.from([0, 0, 1, 0, 0, 3]),
  values: Int32Array.from([2, 2, 1]),
};
const lmLogits = Float32Array.from([0, 1, 2, 3]);

async function run(
  options: Partial<Parameters<typeof knnLm>[0]>,
  hiddenRow: number[],
  input: Partial<ForwardInput> = {},
): Promise<{ out: ForwardOutput; inner: ForwardOutput; seen: ForwardInput[] }> {
  const middleware = knnLm({ datastore, search: exactSearch(datastore), ...options });
  const seen: ForwardInput[] = [];
  const inner: ForwardOutput = { logits: lmLogits, hidden: Float32Array.from(hiddenRow) };
  assert(middleware.wrapForward, 'kNN-LM wraps forward');
  const out = await middleware.wrapForward({
    input: { tokens: Int32Array.from([5]), ...input },
    sequence: {} as Sequence,
    doForward: async forwardInput => {
      seen.push(forwardInput);
      return inner;
    },
  });
  return { out, inner, seen };
}

const softmax = (logits: ArrayLike<number>): number[] => {
  const max = Math.max(...Array.from(logits));
  const exps = Array.from(logits, value => Math.exp(value - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map(value => value / sum);
};

describe('knnLm middleware', () => {
  it('λ = 0 returns the model output untouched', async () => {
    const { out, inner, seen } = await run({ lambda: 0 }, [0, 0]);
    expect(out).toBe(inner);
    expect(seen[0].hidden).toBeUndefined();
  });

  it.each([
    { lambda: 0.25, k: 2, temperature: 1 },
    { lambda: 0.5, k: 3, temperature: 2 },
    { lambda: 1, k: 1, temperature: 1 },
  ])(
    'mixes λ·p_kNN + (1 − λ)·p_LM (λ=$lambda, k=$k, T=$temperature), hand-computed',
    async ({ lambda, k, temperature }) => {
      const query = [0.5, 0.5];
      // squared distances to the keys: 0.5, 0.5, 6.5
      const distances = [0.5, 0.5, 6.5].slice(0, k);
      const knn = [0, 0, 0, 0];
      const weights = distances.map(d => Math.exp(-d / temperature));
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((weight, i) => (knn[[2, 2, 1][i]] += weight / total));
      const lm = softmax(lmLogits);
      const expected = lm.map((p, token) => lambda * knn[token] + (1 - lambda) * p);
      const { out, seen } = await run({ lambda, k, temperature }, query);
      expect(seen[0].hidden).toBe(true);
      expect(out.hidden).toBeUndefined(); // the caller did not ask for it
      const probabilities = softmax(out.logits);
      probabilities.forEach((p, token) => expect(p).toBeCloseTo(expected[token], 6));
      expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    },
  );

  it('passes hidden states through when the caller asked for them and reports retrieval entropy', async () => {
    const entropies: number[] = [];
    const { out } = await run(
      { k: 2, onRetrieval: ({ entropy }) => entropies.push(entropy) },
      [0.5, 0],
      { hidden: true },
    );
    expect(out.hidden).toBeDefined();
    expect(entropies).toHaveLength(1);
    expect(entropies[0]).toBeCloseTo(0, 6); // both neighbors vote for token 2
  });

  it.each([
    [{ lambda: -0.1 }, 'lambda'],
    [{ lambda: 1.5 }, 'lambda'],
    [{ k: 0 }, 'k'],
    [{ temperature: 0 }, 'temperature'],
  ])('rejects %j', (options, argument) => {
    expect(() => knnLm({ datastore, search: exactSearch(datastore), ...options })).toThrow(
      InvalidArgumentError,
    );
    try {
      knnLm({ datastore, search: exactSearch(datastore), ...options });
    } catch (error) {
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });
});

describe('neighbor search', () => {
  it('exact search returns the nearest keys by squared L2, nearest first', () => {
    const { indices, distances } = exactSearch(datastore).search(Float32Array.from([0.9, 0]), 2);
    expect(Array.from(indices)).toEqual([1, 0]);
    expect(distances[0]).toBeCloseTo(0.01, 6);
    expect(distances[1]).toBeCloseTo(0.81, 6);
  });

  it('HNSW (usearch) recall@8 against exact search is high on random keys', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const size = 2000;
    const dimensions = 16;
    const store: Datastore = {
      dimensions,
      size,
      keys: Float32Array.from({ length: size * dimensions }, random),
      values: new Int32Array(size),
    };
    const exact = exactSearch(store);
    const approximate = hnswSearch(store);
    let found = 0;
    for (let q = 0; q < 50; q++) {
      const query = Float32Array.from({ length: dimensions }, random);
      const truth = new Set(exact.search(query, 8).indices);
      const result = approximate.search(query, 8);
      result.indices.forEach(index => (found += truth.has(index) ? 1 : 0));
    }
    expect(found / (50 * 8)).toBeGreaterThan(0.95);
  });
});
