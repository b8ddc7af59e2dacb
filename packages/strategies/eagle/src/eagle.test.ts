import {
  createDecoder,
  InvalidArgumentError,
  ModelFormatError,
  seededRandom,
  speculative,
  UnsupportedCapabilityError,
} from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { eagle, parseEagleWeights, randomEagleWeights, serializeEagleWeights } from './index.js';

const uniform = (length: number, seed: number) => {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => random.next() * 2 - 1);
};

describe('weights files', () => {
  it('round-trips through JSON', () => {
    const weights = randomEagleWeights({ vocabSize: 12, hiddenSize: 4, seed: 3 });
    const parsed = parseEagleWeights(serializeEagleWeights(weights));
    expect(parsed.innerSize).toBe(16);
    expect(Array.from(parsed.fc.weight)).toEqual(Array.from(weights.fc.weight));
    expect(Array.from(parsed.down.weight)).toEqual(Array.from(weights.down.weight));
  });
  it('rejects other files, bad shapes and bad options with typed errors', () => {
    expect(() => parseEagleWeights('{"format":"decodekit-medusa/1"}')).toThrow(ModelFormatError);
    const weights = randomEagleWeights({ vocabSize: 12, hiddenSize: 4 });
    expect(() => eagle({ weights: { ...weights, innerSize: 8 } })).toThrow(/up must be 8×4/);
    expect(() => eagle({ weights, topK: 0 })).toThrow(InvalidArgumentError);
    expect(() => eagle({ weights, depth: 1.5 })).toThrow(InvalidArgumentError);
  });
});

describe('eagle drafter', () => {
  const model = toyModel({ vocabSize: 16, seed: 3, copyBias: 3 });
  const weights = randomEagleWeights({ vocabSize: 16, hiddenSize: 4, seed: 1, scale: 0.3 });
  const lmHead = uniform(16 * 4, 9);

  it('grows the EAGLE-2 tree: totalTokens best nodes, parents first, at most depth deep, exact output', async () => {
    const drafter = eagle({ weights, lmHead, depth: 3, topK: 2, totalTokens: 5 });
    const decoder = createDecoder({ model }).use(
      speculative({ drafter, adaptive: false, budget: 16 }),
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
    const noTable = createDecoder({ model }).use(speculative({ drafter: eagle({ weights }) }));
    await expect(noTable.generate({ tokens: [1] }, { maxTokens: 4 })).rejects.toThrow(
      UnsupportedCapabilityError,
    );
    const wrong = createDecoder({ model }).use(
      speculative({ drafter: eagle({ weights, lmHead: new Float32Array(9) }) }),
    );
    await expect(wrong.generate({ tokens: [1] }, { maxTokens: 4 })).rejects.toThrow(
      /Train a drafter for this model/,
    );
  });
});
