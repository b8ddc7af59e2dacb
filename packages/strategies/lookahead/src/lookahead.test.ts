import { InvalidArgumentError, createDecoder, mockModel, speculative } from '@decodekit/core';
import type { MockModel } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { lookahead } from './lookahead.js';
import { lookaheadDecoding } from './lookahead-decoding.js';
import type { LookaheadOptions } from './lookahead.js';

function hashModel({
  vocabSize = 64,
  order = 2,
  seed = 1,
  eosTokenIds = [] as number[],
  tree = true,
} = {}): MockModel {
  return mockModel({
    vocabSize,
    eosTokenIds,
    tree,
    logits: context => {
      const logits = new Float32Array(vocabSize);
      for (let token = 0; token < vocabSize; token++) {
        let hash = 0x9e3779b9 ^ seed;
        for (const value of [...context.slice(-order), token]) {
          hash = Math.imul(hash ^ value, 0x85ebca6b);
          hash ^= hash >>> 13;
        }
        logits[token] = 4 * ((hash >>> 0) / 4294967296);
      }
      return logits;
    },
  });
}

function strategy(options: LookaheadOptions) {
  const drafter = lookahead(options);
  return {
    drafter,
    strategy: speculative({ drafter, budget: drafter.rowsPerStep, adaptive: false }),
  };
}

/** Visible set of every row of a tree forward: itself and its ancestors (rows of this call). */
function visibility(parents: readonly number[]): boolean[][] {
  const rows = parents.length;
  const visible = Array.from({ length: rows }, () => Array.from({ length: rows }, () => false));
  for (let r = 0; r < rows; r++) {
    for (let a = r; a >= 0; a = parents[a]) visible[r][a] = true;
  }
  return visible;
}

/**
 * The official lookahead-branch mask (lade/models/modeling_llama.py, j_make_causal_mask_multilevel, one
 * worker, no guesses): rows = [pending, level 0 (W - 1)] then N - 2 levels of W; a row of level l, column c
 * sees block 0 up to column c and column c of levels 1..l.
 */
function officialMask(W: number, N: number): boolean[][] {
  const rows = W + (N - 2) * W;
  const mask = Array.from({ length: rows }, () => Array.from({ length: rows }, () => false));
  for (let l = 0; l <= N - 2; l++) {
    for (let c = 0; c < W; c++) {
      const row = l * W + c;
      for (let j = 0; j <= c; j++) mask[row][j] = true;
      for (let k = 1; k <= l; k++) mask[row][k * W + c] = true;
    }
  }
  return mask;
}

describe('lookahead: the attention pattern', () => {
  it.each([
    { W: 4, N: 3 },
    { W: 5, N: 4 },
    { W: 3, N: 5 },
  ])(
    'the lookahead branch of W=$W, N=$N equals the official mask, at the official positions',
    async ({ W, N }) => {
      const model = hashModel({ vocabSize: 4096, seed: W * 10 + N });
      const { strategy: s } = strategy({ windowSize: W, ngramSize: N, guessSetSize: 0 });
      await createDecoder({ model })
        .use(s)
        .generate({ tokens: [5, 6, 7, 8] }, { maxTokens: 12, temperature: 0 });
      const windowRows = W - 1 + (N - 2) * W;
      // Call 0 is the prefill and calls 1..N-2 fill the window; merged (repeated) rows change the count.
      const steady = model.forwardCalls
        .slice(N - 1)
        .filter(call => call.tokens.length === windowRows + 1);
      expect(steady.length).toBeGreaterThan(0);
      for (const call of steady) {
        // Forward rows: pending first, then our rows in insertion order = level 0, level 1 col 0.., level 2 ...
        const parents = call.parents ?? call.tokens.map((_, i) => i - 1);
        expect(visibility(parents)).toEqual(officialMask(W, N));
        // Positions: depth of level l, column c is c + l (the official ids_list).
        const depth = (row: number): number => (parents[row] < 0 ? 0 : depth(parents[row]) + 1);
        for (let l = 0; l <= N - 2; l++)
          for (let c = 0; c < W; c++) expect(depth(l * W + c)).toBe(c + l);
      }
    },
  );

  it('fills the window level by level before verifying guesses (N - 2 fill steps)', async () => {
    const model = hashModel({ vocabSize: 4096, seed: 3 });
    const W = 4;
    const N = 4;
    const { strategy: s } = strategy({ windowSize: W, ngramSize: N, guessSetSize: 3 });
    await createDecoder({ model })
      .use(s)
      .generate({ tokens: [5, 6, 7, 8] }, { maxTokens: 20, temperature: 0 });
    const sizes = model.forwardCalls.slice(1, 4).map(call => call.tokens.length - 1);
    // Level 0 starts with W + N - 3 tokens; each fill step drops one column and adds a level.
    expect(sizes).toEqual([W + N - 3, W + N - 4 + (W + N - 3), W - 1 + 2 * W]);
  });
});

describe('lookahead drafting and the pool', () => {
  it('collects n-grams from the window and verifies them: τ > 1 on a looping model', async () => {
    const model = hashModel({ vocabSize: 12, seed: 11 });
    const { drafter, strategy: s } = strategy({ windowSize: 4, ngramSize: 3, guessSetSize: 3 });
    const result = await createDecoder({ model })
      .use(s)
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 120, temperature: 0 });
    const plain = await createDecoder({ model }).generate(
      { tokens: [1, 2, 3] },
      { maxTokens: 120, temperature: 0 },
    );
    expect(result.tokens).toEqual(plain.tokens);
    expect(drafter.pool.size).toBeGreaterThan(0);
    expect(drafter.stats.guessRows).toBeGreaterThan(0);
    expect(result.stats.meanAcceptedTokens).toBeGreaterThan(1.5);
  });

  it('poolFromPrompt seeds the pool with the prompt n-grams', async () => {
    const drafter = lookahead({ ngramSize: 3, guessSetSize: 2, poolFromPrompt: true });
    const model = hashModel();
    drafter.begin?.({
      tokens: [1, 2, 3, 1, 2, 4],
      model,
      temperature: 0,
      random: { next: () => 0.5, clone: () => ({ next: () => 0.5 }) as never },
    });
    drafter.propose({
      tokens: [1, 2, 3, 1, 2, 4],
      promptLength: 6,
      maxNodes: 100,
      remaining: 50,
      treeCapable: true,
      greedy: true,
    });
    expect(drafter.pool.get(1)).toEqual([
      [2, 3],
      [2, 4],
    ]);
  });

  it('is deterministic for a seed', async () => {
    const model = hashModel({ seed: 2 });
    const run = async () => {
      const { strategy: s } = strategy({ windowSize: 3, ngramSize: 3, guessSetSize: 2 });
      await createDecoder({ model })
        .use(s)
        .generate({ tokens: [1, 2, 3] }, { maxTokens: 30, temperature: 0.8, seed: 7 });
      return model.forwardCalls.splice(0).map(call => call.tokens.join());
    };
    expect(await run()).toEqual(await run());
  });

  it('stays exact on a chain-only backend (verifies one pool n-gram, no window)', async () => {
    const model = hashModel({ vocabSize: 10, seed: 4, tree: false });
    const { strategy: s } = strategy({
      windowSize: 3,
      ngramSize: 3,
      guessSetSize: 2,
      poolFromPrompt: true,
    });
    const prompt = [1, 2, 3, 1, 2, 3, 1, 2];
    const fast = await createDecoder({ model })
      .use(s)
      .generate({ tokens: prompt }, { maxTokens: 40, temperature: 0 });
    const plain = await createDecoder({ model }).generate(
      { tokens: prompt },
      { maxTokens: 40, temperature: 0 },
    );
    expect(fast.tokens).toEqual(plain.tokens);
  });

  it('tells the user the budget it needs', async () => {
    const model = hashModel();
    const decoder = createDecoder({ model }).use(speculative({ drafter: lookahead(), budget: 8 }));
    await expect(
      decoder.generate({ tokens: [1, 2] }, { maxTokens: 5, temperature: 0 }),
    ).rejects.toThrow(/budget/);
  });

  it.each([
    { options: { windowSize: 0 }, argument: 'windowSize' },
    { options: { ngramSize: 2 }, argument: 'ngramSize' },
    { options: { guessSetSize: -1 }, argument: 'guessSetSize' },
  ])('rejects invalid $argument', ({ options, argument }) => {
    let error: unknown;
    try {
      lookahead(options);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});

describe('lookahead through speculative() (O-greedy on toy models)', () => {
  it('stays exact (and keeps its window in step) when the engine cuts drafts adaptively', async () => {
    const model = hashModel({ vocabSize: 12, seed: 11 });
    const drafter = lookahead({ windowSize: 4, ngramSize: 3, guessSetSize: 3 });
    const plain = await createDecoder({ model }).generate(
      { tokens: [1, 2, 3] },
      { maxTokens: 80, temperature: 0 },
    );
    const fast = await createDecoder({ model })
      .use(speculative({ drafter, budget: drafter.rowsPerStep }))
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 80, temperature: 0 });
    expect(fast.tokens).toEqual(plain.tokens);
  });

  it('lookaheadDecoding() is the same strategy, ready to use', async () => {
    const model = hashModel({ vocabSize: 12, seed: 11 });
    const plain = await createDecoder({ model }).generate(
      { tokens: [1, 2, 3] },
      { maxTokens: 80, temperature: 0 },
    );
    const fast = await createDecoder({ model })
      .use(lookaheadDecoding({ windowSize: 4, ngramSize: 3, guessSetSize: 3 }))
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 80, temperature: 0 });
    expect(fast.tokens).toEqual(plain.tokens);
    expect(fast.stats.meanAcceptedTokens).toBeGreaterThan(1.5);
  });

  it.each([1, 2, 3, 4, 5])('is token-identical to greedy decoding, seed %i', async seed => {
    const model = hashModel({ vocabSize: 16, seed });
    const plain = await createDecoder({ model }).generate(
      { tokens: [1, 2, 3, 4] },
      { maxTokens: 60, temperature: 0 },
    );
    for (const options of [
      {},
      { windowSize: 3, ngramSize: 3, guessSetSize: 1 },
      { windowSize: 2, ngramSize: 4, guessSetSize: 4, poolFromPrompt: true },
    ]) {
      const { strategy: s } = strategy(options);
      const fast = await createDecoder({ model })
        .use(s)
        .generate({ tokens: [1, 2, 3, 4] }, { maxTokens: 60, temperature: 0 });
      expect(fast.tokens).toEqual(plain.tokens);
    }
  });
});
