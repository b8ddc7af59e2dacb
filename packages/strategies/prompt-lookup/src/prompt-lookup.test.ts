import {
  InvalidArgumentError,
  createDecoder,
  speculative,
  testBeginContext,
} from '@decodekit/core';
import type { CausalLM, DraftContext, GenerateOptions } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { chaoticModel, cyclicModel, markovModel } from '@decodekit/conformance';
import { promptLookup } from './prompt-lookup.js';
import type { PromptLookupOptions } from './prompt-lookup.js';

function draftContext(tokens: number[], overrides: Partial<DraftContext> = {}): DraftContext {
  return {
    tokens,
    promptLength: tokens.length,
    maxNodes: 16,
    remaining: 100,
    treeCapable: true,
    greedy: false,
    ...overrides,
  };
}

async function propose(
  tokens: number[],
  options: PromptLookupOptions = {},
  overrides: Partial<DraftContext> = {},
) {
  const drafter = promptLookup(options);
  await drafter.begin?.(testBeginContext({ tokens, model: undefined as unknown as CausalLM }));
  const tree = await drafter.propose(draftContext(tokens, overrides));
  return tree ? { tokens: [...tree.tokens], parents: [...tree.parents] } : undefined;
}

async function compare(
  model: CausalLM,
  prompt: number[],
  options: GenerateOptions,
  pld: PromptLookupOptions = {},
  budget?: number,
) {
  const plain = await createDecoder({ model }).generate({ tokens: prompt }, options);
  const fast = await createDecoder({ model })
    .use(speculative({ drafter: promptLookup(pld), budget, adaptive: false }))
    .generate({ tokens: prompt }, options);
  return { plain, fast };
}

describe('promptLookup drafting', () => {
  it('copies what followed the longest matching n-gram, as a chain', async () => {
    // Last 3 tokens [1 2 3] occurred at 0..2, followed by 7 8 9.
    expect(await propose([1, 2, 3, 7, 8, 9, 5, 1, 2, 3], { numSpeculativeTokens: 3 })).toEqual({
      tokens: [7, 8, 9],
      parents: [-1, 0, 1],
    });
  });

  it('prefers the largest n over a more recent shorter match', async () => {
    // The 3-gram [1 2 3] occurred at 0..2 (then 4); the unigram [3] occurred later, at 7 (then 6).
    expect(
      await propose([1, 2, 3, 4, 0, 0, 9, 3, 6, 1, 2, 3], { numSpeculativeTokens: 1 }),
    ).toEqual({
      tokens: [4],
      parents: [-1],
    });
    // Without a longer match, the most recent unigram wins.
    expect(await propose([1, 2, 3, 4, 0, 0, 9, 3, 6, 5, 3], { numSpeculativeTokens: 1 })).toEqual({
      tokens: [6],
      parents: [-1],
    });
  });

  it.each([
    { prefer: 'latest' as const, expected: [8, 8] },
    { prefer: 'earliest' as const, expected: [7, 7] },
  ])("prefer '$prefer' picks that occurrence", async ({ prefer, expected }) => {
    expect(
      (await propose([1, 2, 7, 7, 1, 2, 8, 8, 1, 2], { prefer, numSpeculativeTokens: 2 }))?.tokens,
    ).toEqual(expected);
  });

  it('respects minNgramSize, maxNodes and remaining', async () => {
    const context = [4, 5, 6, 7, 0, 1, 2, 3, 9, 5];
    expect(await propose(context, { minNgramSize: 2 })).toBeUndefined();
    expect((await propose(context, {}, { maxNodes: 2 }))?.tokens).toEqual([6, 7]);
    expect((await propose(context, {}, { remaining: 3 }))?.tokens).toEqual([6, 7, 0]);
    expect(await propose(context, {}, { remaining: 0 })).toBeUndefined();
  });

  it('returns no draft when nothing matches', async () => {
    expect(await propose([1, 2, 3, 4])).toBeUndefined();
    expect(await propose([1])).toBeUndefined();
  });

  it('merges several matches into a tree when branches > 1 and the backend verifies trees', async () => {
    // [1 2] is followed by 3 4, 3 5 and 6 4: a trie with a shared first token.
    const context = [1, 2, 3, 4, 1, 2, 3, 5, 1, 2, 6, 4, 0, 1, 2];
    const tree = await propose(context, {
      branches: 3,
      numSpeculativeTokens: 2,
      maxNgramSize: 2,
      prefer: 'earliest',
    });
    expect(tree).toEqual({ tokens: [3, 4, 5, 6, 4], parents: [-1, 0, 0, -1, 3] });
    const chain = await propose(
      context,
      { branches: 3, numSpeculativeTokens: 2, maxNgramSize: 2, prefer: 'earliest' },
      { treeCapable: false },
    );
    expect(chain).toEqual({ tokens: [3, 4], parents: [-1, 0] });
  });

  it('keeps its index in step with a growing context and a new prompt', async () => {
    const drafter = promptLookup({ numSpeculativeTokens: 2 });
    const model = undefined as unknown as CausalLM;
    await drafter.begin?.(testBeginContext({ tokens: [1, 2, 3, 1], model }));
    expect((await drafter.propose(draftContext([1, 2, 3, 1])))?.tokens).toEqual(
      Int32Array.from([2, 3]),
    );
    expect((await drafter.propose(draftContext([1, 2, 3, 1, 2, 3, 9, 1])))?.tokens).toEqual(
      Int32Array.from([2, 3]),
    );
    expect((await drafter.propose(draftContext([1, 2, 3, 1, 2, 3, 9, 1, 2, 3])))?.tokens).toEqual(
      Int32Array.from([9, 1]),
    );
    await drafter.begin?.(testBeginContext({ tokens: [5, 5], model }));
    expect((await drafter.propose(draftContext([5, 5])))?.tokens).toEqual(Int32Array.from([5, 5]));
    expect(drafter.lookups).toEqual({ steps: 4, matched: 4 });
  });

  it.each([
    { options: { maxNgramSize: 0 }, argument: 'maxNgramSize' },
    { options: { minNgramSize: 4, maxNgramSize: 3 }, argument: 'minNgramSize' },
    { options: { numSpeculativeTokens: 1.5 }, argument: 'numSpeculativeTokens' },
    { options: { branches: 0 }, argument: 'branches' },
    { options: { prefer: 'first' as never }, argument: 'prefer' },
  ])('rejects invalid $argument', ({ options, argument }) => {
    let error: unknown;
    try {
      promptLookup(options);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});

describe('promptLookup through speculative() (O-greedy)', () => {
  const greedy = { maxTokens: 60, temperature: 0 };

  it.each([1, 2, 3, 4, 5])(
    'is token-identical to greedy decoding on markov model seed %i',
    async seed => {
      const model = markovModel({ seed, order: 2, vocabSize: 12 });
      const { plain, fast } = await compare(model, [1, 2, 3, 4, 5, 6], greedy);
      expect(fast.tokens).toEqual(plain.tokens);
      expect(fast.reason).toBe(plain.reason);
    },
  );

  it('accepts drafts on repetitive output (τ > 1) and uses fewer target forwards', async () => {
    const model = cyclicModel();
    const { plain, fast } = await compare(model, [0, 1, 2], greedy);
    expect(fast.tokens).toEqual(plain.tokens);
    expect(fast.stats.meanAcceptedTokens).toBeGreaterThan(3);
    expect(fast.stats.forwardPasses).toBeLessThan(plain.stats.forwardPasses / 3);
    expect(fast.stats.acceptanceRate).toBeGreaterThan(0.8);
  });

  it('gets τ > 1 on a finite-state model once its output loops', async () => {
    const model = markovModel({ seed: 11, order: 2, vocabSize: 10 });
    const { plain, fast } = await compare(model, [1, 2, 3], { maxTokens: 120, temperature: 0 });
    expect(fast.tokens).toEqual(plain.tokens);
    expect(fast.stats.meanAcceptedTokens).toBeGreaterThan(1.5);
  });

  it('stays exact where drafts are mostly wrong', async () => {
    const model = chaoticModel();
    const prompt = [1, 2, 3, 1, 2, 3, 1, 2];
    const { plain, fast } = await compare(model, prompt, greedy);
    expect(fast.tokens).toEqual(plain.tokens);
  });

  it.each([
    { name: 'prefer earliest', pld: { prefer: 'earliest' as const } },
    { name: 'trees of 4 branches', pld: { branches: 4 } },
    { name: 'long n-grams', pld: { maxNgramSize: 6, minNgramSize: 2, numSpeculativeTokens: 3 } },
  ])('stays exact with $name', async ({ pld }) => {
    for (const seed of [7, 8, 9]) {
      const model = markovModel({ seed, order: 1, vocabSize: 9 });
      const { plain, fast } = await compare(model, [1, 2, 3], greedy, pld, 8);
      expect(fast.tokens).toEqual(plain.tokens);
    }
  });

  it('stays exact on a chain-only backend, with penalties, and when EOS lands inside an accepted block', async () => {
    const chainOnly = markovModel({ seed: 4, order: 2, tree: false });
    const a = await compare(chainOnly, [3, 1, 4, 1, 5], greedy, { branches: 4 });
    expect(a.fast.tokens).toEqual(a.plain.tokens);

    const penalized = markovModel({ seed: 5, order: 2, vocabSize: 10 });
    const b = await compare(penalized, [1, 2, 3], {
      ...greedy,
      repetitionPenalty: 1.3,
      noRepeatNgramSize: 4,
    });
    expect(b.fast.tokens).toEqual(b.plain.tokens);

    const withEos = cyclicModel({ vocabSize: 12, period: 9 });
    const eosModel = { ...withEos, info: { ...withEos.info, eosTokenIds: [8] } };
    const c = await compare(eosModel, [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1], {
      maxTokens: 40,
      temperature: 0,
    });
    expect(c.fast.tokens).toEqual(c.plain.tokens);
    expect(c.fast.reason).toBe('eos');
    const d = await compare(withEos, [0, 1, 2, 3], { maxTokens: 13, temperature: 0 });
    expect(d.fast.tokens).toEqual(d.plain.tokens);
    expect(d.fast.tokens).toHaveLength(13);
  });
});

describe('promptLookup under sampling', () => {
  it('keeps the target distribution of the first two tokens (seeded)', async () => {
    // V = 3, logits depend on the last token; the prompt makes the lookup propose drafts every step.
    const vocabSize = 3;
    const table = [
      [1.0, 0.2, -0.5],
      [0.1, 0.9, 0.3],
      [-0.4, 0.6, 0.8],
    ];
    const model = (await import('@decodekit/core')).mockModel({
      vocabSize,
      logits: context => table[context[context.length - 1]],
    });
    const softmax = (row: number[]) => {
      const max = Math.max(...row);
      const weights = row.map(value => Math.exp(value - max));
      const sum = weights.reduce((a, b) => a + b, 0);
      return weights.map(value => value / sum);
    };
    const prompt = [0, 1, 2, 0, 1, 2, 0];
    const expected = new Map<string, number>();
    const first = softmax(table[0]);
    for (let a = 0; a < vocabSize; a++) {
      const second = softmax(table[a]);
      for (let b = 0; b < vocabSize; b++) expected.set(`${a},${b}`, first[a] * second[b]);
    }
    const decoder = createDecoder({ model }).use(
      speculative({ drafter: promptLookup(), adaptive: false }),
    );
    const samples = 3000;
    const counts = new Map<string, number>();
    let drafted = 0;
    for (let seed = 0; seed < samples; seed++) {
      const { tokens, stats } = await decoder.generate(
        { tokens: prompt },
        { maxTokens: 2, temperature: 1, seed },
      );
      drafted += stats.draftTokens ?? 0;
      const key = tokens.join(',');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    let chiSquare = 0;
    for (const [key, probability] of expected) {
      const observed = counts.get(key) ?? 0;
      chiSquare += (observed - probability * samples) ** 2 / (probability * samples);
    }
    // 8 degrees of freedom: p = 0.001 at 26.1.
    expect(drafted).toBeGreaterThan(samples); // the drafts were really verified
    expect(chiSquare).toBeLessThan(26.1);
  });
});
