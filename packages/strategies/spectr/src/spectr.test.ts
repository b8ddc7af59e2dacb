import {
  InvalidArgumentError,
  VocabMismatchError,
  createDecoder,
  seededRandom,
  speculative,
} from '@decodekit/core';
import type { DraftTree } from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { draftModel } from '@decodekit/strategy-draft-model';
import { describe, expect, it } from 'vitest';
import { spectr, spectrDrafter } from './spectr.js';

const target = () => toyModel({ vocabSize: 16, seed: 3, copyBias: 2 });
const draft = () => toyModel({ vocabSize: 16, seed: 4, copyBias: 2 });

describe('spectr', () => {
  it('k = 1 is speculative sampling: token-identical to the draft-model SpS run with the same seed', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const options = { maxTokens: 40, temperature: 0.8, seed };
      const sps = await createDecoder({ model: target() })
        .use(
          speculative({
            drafter: draftModel({
              model: draft(),
              temperature: 0.8,
              numAssistantTokens: 4,
              schedule: 'constant',
            }),
            budget: 4,
            adaptive: false,
          }),
        )
        .generate({ tokens: [1, 2, 3] }, options);
      const ours = await createDecoder({ model: target() })
        .use(spectr({ model: draft(), k: 1, draftLength: 4 }))
        .generate({ tokens: [1, 2, 3] }, options);
      expect(ours.tokens).toEqual(sps.tokens);
      expect(ours.stats.forwardPasses).toBe(sps.stats.forwardPasses);
    }
  });

  it('drafts k sequences sharing rows; the trie multiplicities add up to k at every depth', async () => {
    const drafter = spectrDrafter({ model: draft(), k: 4, draftLength: 3, temperature: 1.5 });
    await drafter.begin?.({
      tokens: [1, 2, 3],
      model: target(),
      random: seededRandom(9),
      temperature: 1.5,
    });
    const tree = (await drafter.propose({
      tokens: [1, 2, 3],
      promptLength: 3,
      maxNodes: 12,
      remaining: 100,
      treeCapable: true,
      greedy: false,
    })) as DraftTree;
    expect(tree.tokens.length).toBeGreaterThanOrEqual(3);
    expect(tree.tokens.length).toBeLessThanOrEqual(12);
    expect(tree.qDistributions).toHaveLength(tree.tokens.length * 16);
    // Siblings are distinct; each row's q is its token's probability in its distribution.
    const seen = new Set<string>();
    for (let row = 0; row < tree.tokens.length; row++) {
      const key = `${tree.parents[row]}:${tree.tokens[row]}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      expect(tree.q?.[row]).toBeCloseTo(
        tree.qDistributions?.[row * 16 + tree.tokens[row]] ?? Number.NaN,
        6,
      );
    }
    // Every depth-3 leaf is reached by at least one sequence: at most k leaves.
    const depth = (row: number): number =>
      tree.parents[row] < 0 ? 1 : depth(tree.parents[row]) + 1;
    const leaves = [...tree.tokens.keys()].filter(row => depth(row) === 3);
    expect(leaves.length).toBeGreaterThanOrEqual(1);
    expect(leaves.length).toBeLessThanOrEqual(4);
    drafter.end?.();
  });

  it('never drafts more than the engine budget allows (k × L fixed before drawing)', async () => {
    const drafter = spectrDrafter({ model: draft(), k: 4, draftLength: 4, temperature: 1 });
    await drafter.begin?.({
      tokens: [1],
      model: target(),
      random: seededRandom(1),
      temperature: 1,
    });
    for (const maxNodes of [1, 2, 5, 9]) {
      const tree = await drafter.propose({
        tokens: [1],
        promptLength: 1,
        maxNodes,
        remaining: 50,
        treeCapable: true,
        greedy: false,
      });
      expect(tree?.tokens.length).toBeLessThanOrEqual(maxNodes);
    }
    drafter.end?.();
  });

  it('at temperature 0 drafts one argmax chain and matches greedy decoding', async () => {
    const reference = await createDecoder({ model: target() }).generate(
      { tokens: [5, 4, 5] },
      { maxTokens: 30, temperature: 0 },
    );
    const result = await createDecoder({ model: target() })
      .use(spectr({ model: draft(), k: 4, draftLength: 4 }))
      .generate({ tokens: [5, 4, 5] }, { maxTokens: 30, temperature: 0 });
    expect(result.tokens).toEqual(reference.tokens);
  });

  it('the verifier refuses drafts it did not see whole', () => {
    const drafter = spectrDrafter({ model: draft(), k: 2 });
    expect(() =>
      drafter.verifier.step({
        probabilities: new Float32Array(16).fill(1 / 16),
        childTokens: [3],
        q: new Float32Array(16).fill(1 / 16),
        greedy: false,
        random: seededRandom(1),
      }),
    ).toThrow(/every draft/);
  });

  it('validates its options and the vocabulary', async () => {
    expect(() => spectr({ model: undefined as never })).toThrow(InvalidArgumentError);
    expect(() => spectr({ model: draft(), k: 0 })).toThrow(/k/);
    expect(() => spectr({ model: draft(), draftLength: 1.5 })).toThrow(/draftLength/);
    expect(() => spectr({ model: draft(), temperature: -1 })).toThrow(/temperature/);
    expect(() => spectr({ model: draft(), skipLayers: [3] })).toThrow(/skipLayers/);
    const mismatched = createDecoder({ model: toyModel({ vocabSize: 8 }) }).use(
      spectr({ model: draft() }),
    );
    await expect(
      mismatched.generate({ tokens: [1] }, { maxTokens: 3, temperature: 0.5 }),
    ).rejects.toThrow(VocabMismatchError);
  });
});
