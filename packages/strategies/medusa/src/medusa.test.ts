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
import { HiddenFromLogits } from '@decodekit/core';
import {
  buildSparseTree,
  medusa,
  parseMedusaWeights,
  randomMedusaWeights,
  serializeMedusaWeights,
} from './index.js';
import { matVec, topIndices } from '@decodekit/core';

const uniform = (length: number, seed: number) => {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => random.next() * 2 - 1);
};

describe('HiddenFromLogits', () => {
  it('recovers h from l = E h (vocab > hidden)', () => {
    const lmHead = uniform(40 * 6, 1);
    const hidden = uniform(6, 2);
    const logits = matVec(lmHead, 40, 6, hidden, new Float32Array(40));
    const recovered = new HiddenFromLogits(lmHead, 40, 6).recover(logits);
    recovered.forEach((value, i) => expect(value).toBeCloseTo(hidden[i], 4));
  });
  it('rejects a rank-deficient or wrongly sized head', () => {
    const rankOne = Float32Array.from({ length: 10 * 2 }, (_, i) => (i % 2 === 0 ? i : i - 1));
    expect(() => new HiddenFromLogits(rankOne, 10, 2)).toThrow(InvalidArgumentError);
    expect(() => new HiddenFromLogits(new Float32Array(5), 10, 2)).toThrow(
      /expected vocab 10 × hidden 2/,
    );
  });
});

describe('topIndices', () => {
  it.each([
    { values: [0.1, 0.5, 0.3, 0.5], k: 2, expected: [1, 3] },
    { values: [3, 2, 1], k: 3, expected: [0, 1, 2] },
    { values: [1, 2, 3, 4, 5], k: 1, expected: [4] },
  ])('k=$k of $values', ({ values, k, expected }) => {
    expect(topIndices(Float32Array.from(values), k)).toEqual(expected);
  });
});

describe('buildSparseTree', () => {
  it.each([
    // values: [0] .6, [0,0] .3, [1] .2, [0,1] .06, [1,0] .1
    {
      accuracy: [
        [0.6, 0.2],
        [0.5, 0.1],
      ],
      size: 3,
      expected: [[0], [0, 0], [1]],
    },
    {
      accuracy: [
        [0.6, 0.2],
        [0.5, 0.1],
      ],
      size: 5,
      expected: [[0], [0, 0], [1], [1, 0], [0, 1]],
    },
    { accuracy: [[0.9], [0.9], [0.9]], size: 10, expected: [[0], [0, 0], [0, 0, 0]] },
  ])('size $size', ({ accuracy, size, expected }) => {
    expect(buildSparseTree(accuracy, size)).toEqual(expected);
  });
});

describe('weights files', () => {
  it('round-trips through JSON', () => {
    const weights = randomMedusaWeights({
      vocabSize: 12,
      hiddenSize: 4,
      heads: 2,
      seed: 3,
      ownLmHead: true,
    });
    const parsed = parseMedusaWeights(serializeMedusaWeights(weights));
    expect(parsed.tree).toEqual(weights.tree);
    expect(Array.from(parsed.heads[1].weight)).toEqual(Array.from(weights.heads[1].weight));
    expect(Array.from(parsed.heads[0].lmHead ?? [])).toEqual(
      Array.from(weights.heads[0].lmHead ?? [-1]),
    );
  });
  it('rejects other files and broken trees with typed errors', () => {
    expect(() => parseMedusaWeights('{"format":"other"}', 'x.json')).toThrow(ModelFormatError);
    expect(() => parseMedusaWeights('not json')).toThrow(ModelFormatError);
    const weights = randomMedusaWeights({ vocabSize: 12, hiddenSize: 4, heads: 2 });
    expect(() => medusa({ weights, tree: [[0, 0]] })).toThrow(/listed once and after its parent/);
    expect(() => medusa({ weights, tree: [[0], [0, 0], [0, 0, 0]] })).toThrow(InvalidArgumentError);
  });
});

describe('medusa drafter', () => {
  const model = toyModel({ vocabSize: 16, seed: 3, copyBias: 3 });
  const weights = randomMedusaWeights({ vocabSize: 16, hiddenSize: 4, heads: 3, seed: 1 });
  const lmHead = uniform(16 * 4, 9);

  it('drafts nothing on the first step, then the whole sparse tree, and stays exact', async () => {
    const decoder = createDecoder({ model }).use(
      speculative({ drafter: medusa({ weights, lmHead }), adaptive: false }),
    );
    const drafts: number[][] = [];
    let result;
    for await (const event of decoder.stream(
      { tokens: [1, 2, 3] },
      { maxTokens: 20, temperature: 0 },
    )) {
      if (event.type === 'draft') drafts.push(Array.from(event.tree.parents));
      if (event.type === 'done') result = event;
    }
    const reference = await createDecoder({ model }).generate(
      { tokens: [1, 2, 3] },
      { maxTokens: 20, temperature: 0 },
    );
    expect(result?.stats.forwardPasses).toBeGreaterThan(drafts.length); // the first forward had no draft
    expect(drafts[0]).toEqual([-1, -1, 0, 0, 1, 2]); // the default tree [[0],[1],[0,0],[0,1],[1,0],[0,0,0]]
    const generated = await decoder.generate(
      { tokens: [1, 2, 3] },
      { maxTokens: 20, temperature: 0 },
    );
    expect(generated.tokens).toEqual(reference.tokens);
  });

  it('needs the target LM head and matching shapes', async () => {
    const noTable = createDecoder({ model }).use(speculative({ drafter: medusa({ weights }) }));
    await expect(noTable.generate({ tokens: [1] }, { maxTokens: 4 })).rejects.toThrow(
      UnsupportedCapabilityError,
    );
    const wrong = createDecoder({ model }).use(
      speculative({ drafter: medusa({ weights, lmHead: new Float32Array(7) }) }),
    );
    await expect(wrong.generate({ tokens: [1] }, { maxTokens: 4 })).rejects.toThrow(
      /Train heads for this model/,
    );
  });
});
