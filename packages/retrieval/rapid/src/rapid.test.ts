import {
  InvalidArgumentError,
  VocabMismatchError,
  createDecoder,
  mockModel,
  speculative,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { bm25ChunkScorer, rapidDrafter, shortenContext } from './index.js';

describe('bm25ChunkScorer', () => {
  it('ranks chunks holding the query ids first, rare ids above common ones', () => {
    const scorer = bm25ChunkScorer();
    const scores = scorer(
      [
        [1, 2, 3],
        [4, 5, 6],
        [1, 9, 9],
        [1, 7, 8],
      ],
      [1, 9],
    ) as number[];
    expect(scores[1]).toBe(0);
    expect(scores[2]).toBeGreaterThan(scores[0]);
    expect(scores[0]).toBeCloseTo(scores[3], 10);
    expect(scores[0]).toBeGreaterThan(0);
    expect(() => bm25ChunkScorer({ b: 2 })).toThrow(InvalidArgumentError);
  });
});

describe('shortenContext', () => {
  // BOS 0, ten 4-token chunks of filler 1 (chunk 3 and 7 hold ids 50, 51), recent 8 tokens asking for 50, 51.
  const middle = Array.from({ length: 40 }, (_, i) =>
    i === 13 ? 50 : i === 30 ? 51 : 1 + (i % 3),
  );
  const recent = [9, 9, 50, 9, 51, 9, 9, 9];
  const context = [0, ...middle, ...recent];

  it('keeps the prefix, the top chunks in context order and the recent tokens', async () => {
    const rag = await shortenContext(context, {
      chunkTokens: 4,
      topChunks: 2,
      recentTokens: 8,
      scorer: bm25ChunkScorer(),
    });
    expect(rag.chunkStarts).toEqual([13, 29]);
    expect(rag.tokens).toEqual([0, ...context.slice(13, 17), ...context.slice(29, 33), ...recent]);
  });

  it('keeps a context that already fits, and checks the scorer', async () => {
    expect(
      await shortenContext(context, {
        chunkTokens: 4,
        topChunks: 10,
        recentTokens: 8,
        scorer: bm25ChunkScorer(),
      }),
    ).toEqual({ tokens: context, chunkStarts: [] });
    await expect(
      shortenContext(context, { chunkTokens: 4, topChunks: 2, recentTokens: 8, scorer: () => [1] }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      shortenContext(context, { chunkTokens: 0, scorer: bm25ChunkScorer() }),
    ).rejects.toThrow(InvalidArgumentError);
  });
});

describe('rapidDrafter', () => {
  // Next token = (last + 1) mod 8 with a twist after token 5 that depends on the far context, so a
  // draft that lost the context sometimes disagrees with the target.
  const logits = (context: readonly number[]) => {
    const last = context[context.length - 1];
    const next = last === 5 && context.includes(7) && context.indexOf(7) < 20 ? 0 : (last + 1) % 8;
    return Array.from({ length: 8 }, (_, i) => (i === next ? 4 : 0));
  };
  const prompt = [0, 7, ...Array.from({ length: 60 }, (_, i) => (i * 5) % 7), 1, 2, 3];

  it('drafts on the shortened context and stays exact w.r.t. the target', async () => {
    const target = mockModel({ vocabSize: 8, logits });
    const draft = mockModel({ vocabSize: 8, logits });
    const drafter = rapidDrafter({
      model: draft,
      chunkTokens: 8,
      topChunks: 2,
      recentTokens: 8,
      numDraftTokens: 4,
    });
    const plain = await createDecoder({ model: target }).generate(
      { tokens: prompt },
      { maxTokens: 30, temperature: 0 },
    );
    const fast = await createDecoder({ model: target })
      .use(speculative({ drafter }))
      .generate({ tokens: prompt }, { maxTokens: 30, temperature: 0 });
    expect(fast.tokens).toEqual(plain.tokens);
    expect(drafter.ragPromptLength).toBe(1 + 2 * 8 + 8);
    // The draft model never saw more than the RAG prompt plus what was generated.
    expect(draft.forwardCalls[0].prefixLength).toBe(0);
    expect(draft.forwardCalls[0].tokens.length).toBe(drafter.ragPromptLength);
    const longest = Math.max(
      ...draft.forwardCalls.map(call => call.prefixLength + call.tokens.length),
    );
    expect(longest).toBeLessThanOrEqual(drafter.ragPromptLength + 30 + 4);
    expect(fast.stats.forwardPasses).toBeLessThan(plain.stats.forwardPasses);
  });

  it('drafts with the target itself when no model is given, sampling drafts included', async () => {
    const target = mockModel({ vocabSize: 8, logits });
    const greedy = rapidDrafter({ chunkTokens: 8, topChunks: 2, recentTokens: 8 });
    const plain = await createDecoder({ model: target }).generate(
      { tokens: prompt },
      { maxTokens: 20, temperature: 0 },
    );
    expect(
      (
        await createDecoder({ model: target })
          .use(speculative({ drafter: greedy }))
          .generate({ tokens: prompt }, { maxTokens: 20, temperature: 0 })
      ).tokens,
    ).toEqual(plain.tokens);
    expect(greedy.draftForwards).toBeGreaterThan(0);
    const sampled = rapidDrafter({ chunkTokens: 8, topChunks: 2, recentTokens: 8, temperature: 1 });
    expect(sampled.providesProbabilities).toBe(true);
    const out = await createDecoder({ model: target })
      .use(speculative({ drafter: sampled }))
      .generate({ tokens: prompt }, { maxTokens: 10, temperature: 1, seed: 3 });
    expect(out.tokens.length).toBe(10);
  });

  it('validates options and vocabularies', async () => {
    expect(() => rapidDrafter({ numDraftTokens: 0 })).toThrow(InvalidArgumentError);
    expect(() => rapidDrafter({ topChunks: -1 })).toThrow(InvalidArgumentError);
    expect(() => rapidDrafter({ temperature: -1 })).toThrow(InvalidArgumentError);
    expect(() => rapidDrafter({ scorer: 3 as never })).toThrow(InvalidArgumentError);
    const drafter = rapidDrafter({
      model: mockModel({ vocabSize: 9, logits: () => new Float32Array(9) }),
    });
    const decoder = createDecoder({ model: mockModel({ vocabSize: 8, logits }) }).use(
      speculative({ drafter }),
    );
    await expect(decoder.generate({ tokens: prompt }, { maxTokens: 4 })).rejects.toThrow(
      VocabMismatchError,
    );
  });
});
