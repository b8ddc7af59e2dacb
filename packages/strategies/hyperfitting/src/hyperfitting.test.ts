import { createDecoder, InvalidArgumentError } from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import {
  entropyOfLogits,
  memorizationFloor,
  repetitionOfNgrams,
  trainingNgramBlocker,
  typeTokenRatio,
} from './index.js';

describe('trainingNgramBlocker', () => {
  it('bans exactly the tokens that would complete a training n-gram', () => {
    const blocker = trainingNgramBlocker({
      sequences: [
        [1, 2, 3, 4],
        [2, 3, 9],
      ],
      n: 3,
    });
    const logits = new Float32Array(10);
    blocker.process(logits, blocker.init([7, 2, 3]));
    expect([...logits].map((v, i) => (v === -Infinity ? i : -1)).filter(i => i >= 0)).toEqual([
      4, 9,
    ]);
    const fresh = new Float32Array(10);
    blocker.process(fresh, blocker.advance(blocker.init([2, 3]), 4));
    expect(fresh.every(Number.isFinite)).toBe(true);
    // Too short a context bans nothing.
    const short = new Float32Array(10);
    blocker.process(short, blocker.init([3]));
    expect(short.every(Number.isFinite)).toBe(true);
  });

  it('keeps a model that would recite its training sequence from reciting it (and greedy otherwise)', async () => {
    const model = toyModel({ vocabSize: 32, seed: 7 });
    const free = await createDecoder({ model }).generate(
      { tokens: [1, 2] },
      { maxTokens: 24, temperature: 0 },
    );
    // Treat the model's own greedy continuation as the "training sequence": with the blocker it cannot repeat
    // any 4-gram of it.
    const recited = [1, 2, ...free.tokens];
    const blocked = await createDecoder({ model })
      .use(trainingNgramBlocker({ sequences: [recited], n: 4 }))
      .generate({ tokens: [1, 2] }, { maxTokens: 24, temperature: 0 });
    const grams = new Set<string>();
    for (let i = 0; i + 4 <= recited.length; i++) grams.add(recited.slice(i, i + 4).join(','));
    const output = [1, 2, ...blocked.tokens];
    for (let i = 0; i + 4 <= output.length; i++)
      expect(grams.has(output.slice(i, i + 4).join(','))).toBe(false);
    expect(blocked.tokens).not.toEqual(free.tokens);
    // An empty training set changes nothing.
    const none = await createDecoder({ model })
      .use(trainingNgramBlocker({ sequences: [], n: 4 }))
      .generate({ tokens: [1, 2] }, { maxTokens: 24, temperature: 0 });
    expect(none.tokens).toEqual(free.tokens);
  });

  it('validates its options', () => {
    expect(() => trainingNgramBlocker({ sequences: [[1, 2]], n: 1 })).toThrow(InvalidArgumentError);
    expect(() => trainingNgramBlocker({ sequences: 'x' as unknown as number[][] })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('long-text metrics', () => {
  it('TTR, rep-n and entropy', () => {
    expect(typeTokenRatio('the cat saw the dog')).toBeCloseTo(4 / 5);
    expect(typeTokenRatio('')).toBe(0);
    expect(repetitionOfNgrams([1, 2, 1, 2, 1, 2], 2)).toBeCloseTo(3 / 5);
    expect(repetitionOfNgrams([1, 2, 3], 2)).toBe(0);
    expect(entropyOfLogits([0, 0, 0, 0])).toBeCloseTo(Math.log(4));
    expect(entropyOfLogits([100, 0, 0])).toBeLessThan(1e-6);
    expect(entropyOfLogits([0, -Infinity])).toBe(0);
  });
});

describe('memorizationFloor', () => {
  it('is the empirical conditional entropy of the next token given the whole prefix', () => {
    // Distinct from the first token on: a perfect memorizer predicts every token.
    expect(
      memorizationFloor([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ).toBe(0);
    // Duplicates cost nothing either.
    expect(
      memorizationFloor([
        [1, 2, 3],
        [1, 2, 3],
      ]),
    ).toBe(0);
    // [1, 2] and [1, 3]: the token after 1 is a coin flip, ln 2 at each of the 2 positions.
    expect(
      memorizationFloor([
        [1, 2],
        [1, 3],
      ]),
    ).toBeCloseTo(Math.log(2), 12);
    // Three sequences sharing [1, 2]: after 1 always 2 (0), after [1, 2] it is 3, 3 or 4.
    const floor = memorizationFloor([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 4],
    ]);
    expect(floor).toBeCloseTo((2 * Math.log(3 / 2) + Math.log(3)) / 6, 12);
  });

  it('rejects sequences with nothing to predict', () => {
    expect(() => memorizationFloor([[1]])).toThrow(InvalidArgumentError);
  });
});
