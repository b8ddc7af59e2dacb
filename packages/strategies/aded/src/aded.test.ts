import { InvalidArgumentError, createDecoder, speculative } from '@decodekit/core';
import type { CausalLM } from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { assert, describe, expect, it } from 'vitest';
import { aded, cutToChoices, trieOf } from './aded.js';
import { AdedStore, buildAdedStoreFromTokens } from './aded-store.js';

const noModel = undefined as unknown as CausalLM;
const context = (tokens: number[]) => ({
  tokens,
  promptLength: tokens.length,
  maxNodes: 64,
  remaining: 100,
  treeCapable: true,
  greedy: true,
});

/** A store counted from the model's own greedy and sampled outputs (how the default store is made). */
async function selfStore(model: CausalLM, prompts: number[][]): Promise<AdedStore> {
  const documents: number[][] = [];
  for (const [index, prompt] of prompts.entries()) {
    for (const temperature of [0, 1]) {
      const { tokens } = await createDecoder({ model }).generate(
        { tokens: prompt },
        { maxTokens: 60, temperature, seed: index },
      );
      documents.push([...prompt, ...tokens]);
    }
  }
  return buildAdedStoreFromTokens(documents);
}

describe('aded drafting', () => {
  it('reinforces the tri-grams of the last 16 tokens by 0.04, capped at 3.0', () => {
    const tokens = [7, 1, 2, 3, 1, 2];
    const drafter = aded({ store: buildAdedStoreFromTokens([[1, 2, 3]]) });
    drafter.propose(context(tokens));
    expect(drafter.store.successors(1, 2)?.get(3)).toBeCloseTo(1.04, 6);
    expect(drafter.store.successors(2, 3)?.get(1)).toBeCloseTo(0.04, 6); // a new tri-gram
    const capped = aded({ store: buildAdedStoreFromTokens([[1, 2, 3]]), adaptCap: 0.1 });
    for (let i = 0; i < 3; i++) capped.propose(context(tokens));
    expect(capped.store.successors(2, 3)?.get(1)).toBeCloseTo(0.1, 6);
    expect(capped.store.successors(1, 2)?.get(3)).toBeCloseTo(0.1, 6); // clamped like the official code
    // Only the last adaptWindow tokens count: 7 1 2 is outside a window of 4.
    const windowed = aded({ store: new AdedStore(), adaptWindow: 4 });
    windowed.propose(context([7, 1, 2, 3, 1, 2]));
    expect(windowed.store.successors(7, 1)).toBeUndefined();
  });

  it('does not mutate the caller store, and persist: false starts every generation from it', () => {
    const store = buildAdedStoreFromTokens([[1, 2, 3]]);
    const drafter = aded({ store, persist: false });
    drafter.propose(context([1, 2, 3, 1, 2]));
    expect(store.successors(2, 3)).toBeUndefined();
    drafter.begin?.({ tokens: [1], model: noModel } as never);
    expect(drafter.store.successors(2, 3)).toBeUndefined();
  });

  it('drafts a tree of the MCTS sequences, breadth first, and is reproducible', () => {
    const store = buildAdedStoreFromTokens([[1, 2, 3, 4, 5, 1, 2, 3, 6, 7, 1, 2, 8, 9]]);
    const propose = () => {
      const drafter = aded({ store, seed: 3 });
      drafter.begin?.({ tokens: [1, 2], model: noModel } as never);
      const tree = drafter.propose(context([5, 1, 2]));
      assert(tree, 'the store has successors of (1, 2)');
      return { tokens: [...tree.tokens], parents: [...tree.parents] };
    };
    const tree = propose();
    expect(tree).toEqual(propose());
    expect(tree.tokens.slice(0, 2).sort()).toEqual([3, 8]); // both successors of (1, 2) at depth 1
    tree.parents.forEach((parent, row) => expect(parent).toBeLessThan(row));
  });

  it('cutToChoices drops the paths with the most unique tokens until the total fits', () => {
    expect(
      cutToChoices(
        [
          [1, 2, 3],
          [1, 1],
          [4, 5, 6, 7],
        ],
        5,
      ),
    ).toEqual([
      [1, 2, 3],
      [1, 1],
    ]);
    expect(cutToChoices([[1, 2]], 5)).toEqual([[1, 2]]);
  });

  it('trieOf merges shared prefixes breadth first and caps the rows', () => {
    expect(trieOf([[1, 2, 3], [1, 4], [5]], 10)).toEqual({
      tokens: Int32Array.from([1, 5, 2, 4, 3]),
      parents: Int32Array.from([-1, -1, 0, 0, 2]),
    });
    expect(trieOf([[1, 2, 3], [1, 4], [5]], 3)).toEqual({
      tokens: Int32Array.from([1, 5, 2]),
      parents: Int32Array.from([-1, -1, 0]),
    });
    expect(trieOf([], 3)).toBeUndefined();
  });

  it.each([
    { options: { store: {} as AdedStore }, argument: 'store' },
    { options: { store: new AdedStore(), topSuccessors: 0 }, argument: 'topSuccessors' },
    { options: { store: new AdedStore(), iterations: 0 }, argument: 'iterations' },
    { options: { store: new AdedStore(), sequenceLength: 1 }, argument: 'sequenceLength' },
    { options: { store: new AdedStore(), adaptCap: 0 }, argument: 'adaptCap' },
  ])('rejects invalid $argument', ({ options, argument }) => {
    let error: unknown;
    try {
      aded(options);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});

describe('aded through speculative() (O-greedy on toy models)', () => {
  it.each([1, 2, 3])(
    'is token-identical to greedy decoding with a self-generated store, seed %i',
    async seed => {
      const model = toyModel({ vocabSize: 16, seed, copyBias: 3 });
      const store = await selfStore(model, [[0], [1, 2, 3], [5, 4, 5]]);
      for (const prompt of [[0], [1, 2, 3, 1, 2], [7, 7]]) {
        const plain = await createDecoder({ model }).generate(
          { tokens: prompt },
          { maxTokens: 40, temperature: 0 },
        );
        const fast = await createDecoder({ model })
          .use(speculative({ drafter: aded({ store }), budget: 16, adaptive: false }))
          .generate({ tokens: prompt }, { maxTokens: 40, temperature: 0 });
        expect(fast.tokens).toEqual(plain.tokens);
        expect(fast.stats.meanAcceptedTokens).toBeGreaterThan(1);
      }
    },
  );
});
