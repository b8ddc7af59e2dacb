import {
  createDecoder,
  InvalidArgumentError,
  seededRandom,
  speculative,
  UnsupportedCapabilityError,
  type Drafter,
  type DynamicTreeOptions,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { toyModel } from './toy-model.js';

/** Options of `runFeatureDrafterChecks`. */
export interface FeatureDrafterChecksOptions {
  /** Name shown in the test titles. */
  name: string;
  /**
   * Makes the drafter under test with random weights for a 16-token vocabulary and hidden size 4, with the
   * given LM head (absent: the drafter must read `model.embeddingTable()`) and tree sizes.
   */
  drafter: (options: DynamicTreeOptions & { lmHead?: Float32Array }) => Drafter;
}

/**
 * Unit checks every drafter built on core's `featureDrafter` (EAGLE-2's dynamic tree) passes on a toy
 * model: tree shape limits (totalTokens, parents first, depth), exact greedy output, option validation, and
 * typed errors for a missing or mis-sized LM head.
 */
export function runFeatureDrafterChecks({ name, drafter }: FeatureDrafterChecksOptions): void {
  describe(`${name} drafter (EAGLE-2 dynamic tree)`, () => {
    const model = toyModel({ vocabSize: 16, seed: 3, copyBias: 3 });
    const random = seededRandom(9);
    const lmHead = Float32Array.from({ length: 16 * 4 }, () => random.next() * 2 - 1);

    it('rejects bad tree options with typed errors', () => {
      expect(() => drafter({ lmHead, topK: 0 })).toThrow(InvalidArgumentError);
      expect(() => drafter({ lmHead, depth: 1.5 })).toThrow(InvalidArgumentError);
      expect(() => drafter({ lmHead, totalTokens: -1 })).toThrow(InvalidArgumentError);
    });

    it('grows the tree: totalTokens best nodes, parents first, at most depth deep, exact output', async () => {
      const decoder = createDecoder({ model }).use(
        speculative({
          drafter: drafter({ lmHead, depth: 3, topK: 2, totalTokens: 5 }),
          adaptive: false,
          budget: 16,
        }),
      );
      const trees: { tokens: number[]; parents: number[] }[] = [];
      let tokens: number[] = [];
      for await (const event of decoder.stream(
        { tokens: [1, 2, 3] },
        { maxTokens: 24, temperature: 0 },
      )) {
        if (event.type === 'draft')
          trees.push({
            tokens: Array.from(event.tree.tokens),
            parents: Array.from(event.tree.parents),
          });
        if (event.type === 'done') tokens = event.tokens;
      }
      expect(trees.length).toBeGreaterThan(0);
      for (const tree of trees) {
        expect(tree.tokens.length).toBeLessThanOrEqual(5);
        expect(tree.parents[0]).toBe(-1);
        tree.parents.forEach((parent, row) => expect(parent).toBeLessThan(row));
        const depth = (row: number): number =>
          tree.parents[row] < 0 ? 1 : 1 + depth(tree.parents[row]);
        tree.parents.forEach((_, row) => expect(depth(row)).toBeLessThanOrEqual(3));
      }
      const reference = await createDecoder({ model }).generate(
        { tokens: [1, 2, 3] },
        { maxTokens: 24, temperature: 0 },
      );
      expect(tokens).toEqual(reference.tokens);
    });

    it('needs the target LM head with matching shapes', async () => {
      const noTable = createDecoder({ model }).use(speculative({ drafter: drafter({}) }));
      await expect(noTable.generate({ tokens: [1] }, { maxTokens: 4 })).rejects.toThrow(
        UnsupportedCapabilityError,
      );
      const wrong = createDecoder({ model }).use(
        speculative({ drafter: drafter({ lmHead: new Float32Array(9) }) }),
      );
      await expect(wrong.generate({ tokens: [1] }, { maxTokens: 4 })).rejects.toThrow(
        /Train a drafter for this model/,
      );
    });
  });
}
