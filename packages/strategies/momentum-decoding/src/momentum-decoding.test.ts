import { createDecoder, InvalidArgumentError } from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { momentumDecoding, repetitionLength } from './index.js';

describe('repetitionLength (official find_max_repetition_length)', () => {
  it.each([
    { tokens: [1, 2, 3], candidate: 9, expected: 0 }, // new node
    { tokens: [1, 2, 3], candidate: 1, expected: 1 }, // seen, but "3 1" never occurred
    { tokens: [1, 2, 3, 1], candidate: 2, expected: 2 }, // "1 2" occurred
    { tokens: [1, 2, 3, 1, 2], candidate: 3, expected: 3 }, // "1 2 3"
    { tokens: [5, 1, 2, 3, 4, 9, 1, 2, 3], candidate: 4, expected: 4 },
    { tokens: [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5], candidate: 6, expected: 5 }, // capped at maxLength
    { tokens: [7, 7, 7], candidate: 7, expected: 3 }, // overlapping occurrences count; no 4-gram fits in 3 tokens
  ])('$tokens + $candidate → $expected', ({ tokens, candidate, expected }) => {
    expect(repetitionLength(tokens, candidate, 5)).toBe(expected);
  });

  it('respects maxLength', () => {
    expect(repetitionLength([1, 2, 3, 1, 2], 3, 2)).toBe(2);
  });
});

describe('momentumDecoding', () => {
  it('scores top-k candidates p(c) − α·r(ℓ) and bans the rest', () => {
    const processor = momentumDecoding({ alpha: 0.5, topK: 3, resistance: 'linear' });
    // History [0, 1]: candidate 1 has ℓ = 1 (seen), candidate 0 has ℓ = 2 ("1 0"? no: "1 0" never occurred → ℓ = 1).
    const logits = Float32Array.from([Math.log(0.4), Math.log(0.3), Math.log(0.2), Math.log(0.1)]);
    processor.process(logits, processor.init([0, 1]));
    expect(logits[0]).toBeCloseTo(0.4 - 0.5 * 1, 5);
    expect(logits[1]).toBeCloseTo(0.3 - 0.5 * 1, 5);
    expect(logits[2]).toBeCloseTo(0.2, 5); // a new node: no resistance
    expect(logits[3]).toBe(-Infinity); // outside the top 3
  });

  it('falls back to the most likely candidate when every candidate is blocked', () => {
    const processor = momentumDecoding({ topK: 2, resistance: () => Infinity });
    const logits = Float32Array.from([0, 2, 1]);
    processor.process(logits, processor.init([0, 1, 2]));
    expect(Array.from(logits)).toEqual([-Infinity, 0, -Infinity]);
  });

  it('advance never mutates the state', () => {
    const processor = momentumDecoding();
    const state = processor.init([1, 2]);
    const next = processor.advance(state, 3);
    expect(state.tokens).toEqual([1, 2]);
    expect(next.tokens).toEqual([1, 2, 3]);
  });

  it.each([{ alpha: 0 }, { resistance: () => 0 }])(
    '%o is greedy decoding on toy models',
    async options => {
      for (const seed of [1, 2, 3]) {
        const model = toyModel({ vocabSize: 16, seed, copyBias: 3 });
        const greedy = await createDecoder({ model }).generate(
          { tokens: [1, 2, 3] },
          { maxTokens: 40 },
        );
        const momentum = await createDecoder({ model })
          .use(momentumDecoding(options))
          .generate({ tokens: [1, 2, 3] }, { maxTokens: 40 });
        expect(momentum.tokens).toEqual(greedy.tokens);
      }
    },
  );

  it('with the default table no 4-gram of the context repeats (toy model that loves to copy)', async () => {
    const model = toyModel({ vocabSize: 16, seed: 5, copyBias: 6 });
    const { tokens } = await createDecoder({ model })
      .use(momentumDecoding())
      .generate({ tokens: [1, 2, 1, 2] }, { maxTokens: 60 });
    const all = [1, 2, 1, 2, ...tokens];
    const seen = new Set<string>();
    for (let i = 0; i + 4 <= all.length; i++) {
      const gram = all.slice(i, i + 4).join();
      expect(seen.has(gram), `4-gram ${gram} repeats`).toBe(false);
      seen.add(gram);
    }
  });

  it.each([
    [{ alpha: -1 }, 'alpha'],
    [{ topK: 0 }, 'topK'],
    [{ maxLength: 1.5 }, 'maxLength'],
    [{ resistance: 'square' as never }, 'resistance'],
  ])('rejects %o', (options, argument) => {
    try {
      momentumDecoding(options);
      expect.unreachable();
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });
});
