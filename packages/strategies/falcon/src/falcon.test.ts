import {
  createDecoder,
  InvalidArgumentError,
  ModelFormatError,
  seededRandom,
  speculative,
} from '@decodekit/core';
import { runFeatureDrafterChecks, toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import {
  falcon,
  parseFalconWeights,
  randomFalconWeights,
  serializeFalconWeights,
} from './index.js';

describe('weights files', () => {
  it('round-trips through JSON', () => {
    const weights = randomFalconWeights({ vocabSize: 12, hiddenSize: 4, seed: 3 });
    const parsed = parseFalconWeights(serializeFalconWeights(weights));
    expect(parsed.innerSize).toBe(16);
    expect(Array.from(parsed.tensors['fc.weight'])).toEqual(
      Array.from(weights.tensors['fc.weight']),
    );
    expect(Array.from(parsed.tensors.down2)).toEqual(Array.from(weights.tensors.down2));
  });
  it('rejects other files, bad shapes and bad options with typed errors', () => {
    expect(() => parseFalconWeights('{"format":"decodekit-eagle/1"}')).toThrow(ModelFormatError);
    const weights = randomFalconWeights({ vocabSize: 12, hiddenSize: 4 });
    expect(() => falcon({ weights: { ...weights, innerSize: 5 } })).toThrow(/up1 must hold 5×8/);
    expect(() => falcon({ weights, topK: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('semi-autoregressive drafting', () => {
  it('drafts two depths per drafter forward: second-depth siblings share one distribution', async () => {
    const model = toyModel({ vocabSize: 16, seed: 3, copyBias: 3 });
    const random = seededRandom(9);
    const lmHead = Float32Array.from({ length: 16 * 4 }, () => random.next() * 2 - 1);
    const weights = randomFalconWeights({ vocabSize: 16, hiddenSize: 4, seed: 1, scale: 0.3 });
    // topK = totalTokens = 4, depth 2: the root's 4 children are expanded into the same 4 tokens each.
    const drafter = falcon({ weights, lmHead, depth: 2, topK: 4, totalTokens: 64 });
    const decoder = createDecoder({ model }).use(
      speculative({ drafter, adaptive: false, budget: 64 }),
    );
    let checked = 0;
    for await (const event of decoder.stream({ tokens: [1, 2, 3] }, { maxTokens: 12 })) {
      if (event.type !== 'draft') continue;
      const { tokens, parents } = event.tree;
      const childrenOf = (row: number) =>
        Array.from(tokens.filter((_, child) => parents[child] === row)).sort((a, b) => a - b);
      const roots = Array.from(parents.keys()).filter(row => parents[row] < 0);
      expect(roots).toHaveLength(4);
      for (const root of roots) expect(childrenOf(root)).toEqual(childrenOf(roots[0]));
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

runFeatureDrafterChecks({
  name: 'falcon',
  drafter: options =>
    falcon({
      weights: randomFalconWeights({ vocabSize: 16, hiddenSize: 4, seed: 1, scale: 0.3 }),
      ...options,
    }),
});
