import {
  createDecoder,
  InvalidArgumentError,
  mockModel,
  noRepeatNgram,
  type DecoderConfig,
  type Strategy,
} from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { beamSearch } from '@decodekit/strategy-beam-search';
import { assert, describe, expect, it } from 'vitest';
import { diverseBeamSearch } from './index.js';

/** `decoder.search()` with a (diverse) beam search over `{ tokens }`. */
const searchOf = (
  strategy: Strategy,
  {
    model,
    prompt,
    maxTokens,
    processors,
  }: DecoderConfig & {
    prompt: { tokens: number[] };
    maxTokens: number;
  },
) => createDecoder({ model, processors }).use(strategy).search(prompt, { maxTokens });

describe('diverseBeamSearch', () => {
  it.each([
    { numBeams: 3, lengthPenalty: 1 },
    { numBeams: 4, lengthPenalty: 0.5, numReturnSequences: 4 },
    { numBeams: 2, earlyStopping: 'never' as const, numReturnSequences: 2 },
  ])('G = 1 equals beam search exactly (%o)', async options => {
    for (const seed of [1, 2, 3]) {
      const model = toyModel({ vocabSize: 12, seed, copyBias: 2, eosTokenIds: [3] });
      for (const prompt of [[0], [1, 2, 1, 2]]) {
        const args = {
          model,
          prompt: { tokens: prompt },
          maxTokens: 14,
          processors: [noRepeatNgram(3)],
        };
        const plain = await searchOf(beamSearch(options), args);
        const diverse = await searchOf(
          diverseBeamSearch({
            ...options,
            numGroups: 1,
            diversityPenalty: 3,
          }),
          { ...args, processors: [noRepeatNgram(3)] },
        );
        expect(diverse.hypotheses).toEqual(plain.hypotheses);
      }
    }
  });

  it('λ = 0 with G = B gives B copies of greedy', async () => {
    const model = toyModel({ vocabSize: 10, seed: 6, copyBias: 2 });
    const greedy = await createDecoder({ model }).generate({ tokens: [1, 2] }, { maxTokens: 12 });
    const { hypotheses } = await searchOf(
      diverseBeamSearch({
        numBeams: 3,
        numGroups: 3,
        diversityPenalty: 0,
        numReturnSequences: 3,
      }),
      { model, prompt: { tokens: [1, 2] }, maxTokens: 12 },
    );
    expect(hypotheses.map(h => h.tokens)).toEqual([greedy.tokens, greedy.tokens, greedy.tokens]);
  });

  it.each(['tree', 'per-beam'] as const)(
    'a large λ keeps groups apart: no two groups share a token at any step (%s)',
    async forwardMode => {
      const model = toyModel({ vocabSize: 10, seed: 8, copyBias: 2 });
      const { hypotheses } = await createDecoder({ model })
        .use(
          diverseBeamSearch({
            numBeams: 4,
            numGroups: 4,
            diversityPenalty: 100,
            numReturnSequences: 4,
            forwardMode,
          }),
        )
        .search({ tokens: [3] }, { maxTokens: 10 });
      expect(hypotheses).toHaveLength(4);
      for (let step = 0; step < 10; step++) {
        expect(new Set(hypotheses.map(h => h.tokens[step])).size, `step ${step}`).toBe(4);
      }
    },
  );

  it('Hamming penalty: the second group switches token exactly when λ exceeds the log-probability gap', async () => {
    // Fixed logits: token 1 beats token 2 by 0.1 nats; tokens 0 and 3 are far behind.
    const model = mockModel({ vocabSize: 4, logits: () => [-5, 2, 1.9, -5] });
    const run = (diversityPenalty: number) =>
      searchOf(
        diverseBeamSearch({
          numBeams: 2,
          numGroups: 2,
          diversityPenalty,
          numReturnSequences: 2,
        }),
        { model, prompt: { tokens: [0] }, maxTokens: 1 },
      );
    const small = await run(0.09);
    expect(small.hypotheses.map(h => h.tokens)).toEqual([[1], [1]]);
    const large = await run(0.11);
    expect(large.hypotheses.map(h => h.tokens[0]).sort()).toEqual([1, 2]);
    // The second group's score carries the penalty: none here (token 2 is unused), its log-probability is exact.
    const second = large.hypotheses.find(h => h.tokens[0] === 2);
    assert(second, 'the second group starts with token 2');
    assert(second.logProbability !== undefined, 'beam search reports log-probabilities');
    expect(second.score).toBeCloseTo(second.logProbability, 6);
  });

  it.each([
    [{ numBeams: 4, numGroups: 3 }, 'numGroups'],
    [{ numBeams: 4, numGroups: 0 }, 'numGroups'],
    [{ diversityPenalty: -1 }, 'diversityPenalty'],
    [{ diversityPenalty: Number.POSITIVE_INFINITY }, 'diversityPenalty'],
  ])('rejects %o', (options, argument) => {
    try {
      diverseBeamSearch(options);
      expect.unreachable();
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });
});
