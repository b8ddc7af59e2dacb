import { InvalidArgumentError, createDecoder, seededRandom } from '@decodekit/core';
import type { DraftContext, DraftTree } from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { rsd, rsdDrafter } from './rsd.js';
import type { RsdOptions } from './rsd.js';

const target = () => toyModel({ vocabSize: 16, seed: 3, copyBias: 2 });
const draft = () => toyModel({ vocabSize: 16, seed: 4, copyBias: 2 });
const context = (maxNodes = 64): DraftContext => ({
  tokens: [1, 2, 3],
  promptLength: 3,
  maxNodes,
  remaining: 100,
  treeCapable: true,
  greedy: false,
});

async function draftOnce(
  options: Omit<RsdOptions, 'model'>,
  maxNodes?: number,
): Promise<DraftTree> {
  const drafter = rsdDrafter({ model: draft(), ...options });
  await drafter.begin?.({
    tokens: [1, 2, 3],
    model: target(),
    random: seededRandom(5),
    temperature: 1,
  });
  const tree = (await drafter.propose(context(maxNodes ?? drafter.maxRows))) as DraftTree;
  drafter.end?.();
  return tree;
}

function depths(tree: DraftTree): number[] {
  const result: number[] = [];
  tree.parents.forEach(parent => result.push(parent < 0 ? 1 : result[parent] + 1));
  return result;
}

describe('rsd', () => {
  it('RSD-C: constant branching b gives b^d rows at depth d, distinct siblings, q of each row', async () => {
    const tree = await draftOnce({ branching: 2, depth: 3 });
    expect(tree.tokens.length).toBe(2 + 4 + 8);
    const perDepth = [0, 0, 0, 0];
    for (const d of depths(tree)) perDepth[d]++;
    expect(perDepth).toEqual([0, 2, 4, 8]);
    const siblings = new Set<string>();
    tree.tokens.forEach((token, row) => {
      const key = `${tree.parents[row]}:${token}`;
      expect(siblings.has(key)).toBe(false);
      siblings.add(key);
      expect(tree.q?.[row]).toBeCloseTo(tree.qDistributions?.[row * 16 + token] ?? Number.NaN, 6);
    });
  });

  it('RSD-C per-depth branching and the fixed-budget mode keep full levels only', async () => {
    expect((await draftOnce({ branching: [3, 2, 1] })).tokens.length).toBe(3 + 6 + 6);
    expect(rsdDrafter({ model: draft(), branching: 2, budget: 16 }).maxRows).toBe(14);
    expect(rsdDrafter({ model: draft(), branching: 3, budget: 16 }).maxRows).toBe(12);
    // A smaller engine budget is met by dropping whole levels, never by cutting inside one.
    expect((await draftOnce({ branching: 2, depth: 3 }, 7)).tokens.length).toBe(6);
  });

  it('RSD-S: at most W rows per depth, each sequence continues a kept beam', async () => {
    const tree = await draftOnce({ variant: 'beam', beamWidth: 3, depth: 4 });
    const perDepth = new Map<number, number>();
    for (const d of depths(tree)) perDepth.set(d, (perDepth.get(d) ?? 0) + 1);
    expect([...perDepth.keys()]).toEqual([1, 2, 3, 4]);
    for (const count of perDepth.values()) expect(count).toBe(3);
    expect(rsdDrafter({ model: draft(), variant: 'beam', beamWidth: 4, budget: 18 }).maxRows).toBe(
      16,
    );
  });

  it('greedy decoding: identical to autoregressive greedy, with more than one token per target forward', async () => {
    for (const variant of ['constant', 'beam'] as const) {
      const reference = await createDecoder({ model: target() }).generate(
        { tokens: [5, 4, 5] },
        { maxTokens: 40, temperature: 0 },
      );
      const result = await createDecoder({ model: target() })
        .use(rsd({ model: draft(), variant }))
        .generate({ tokens: [5, 4, 5] }, { maxTokens: 40, temperature: 0 });
      expect(result.tokens).toEqual(reference.tokens);
    }
  });

  it('a draft equal to the target is accepted deep into the tree at T = 0.8', async () => {
    const result = await createDecoder({ model: target() })
      .use(rsd({ model: target(), branching: 2, depth: 4 }))
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 60, temperature: 0.8, seed: 3 });
    expect(result.stats.meanAcceptedTokens).toBeGreaterThan(3);
  });

  it('validates its options', () => {
    expect(() => rsd({ model: undefined as never })).toThrow(InvalidArgumentError);
    expect(() => rsd({ model: draft(), variant: 'x' as never })).toThrow(/variant/);
    expect(() => rsd({ model: draft(), branching: [2, 0] })).toThrow(/branching/);
    expect(() => rsd({ model: draft(), depth: 0 })).toThrow(/depth/);
    expect(() => rsd({ model: draft(), variant: 'beam', beamWidth: 4, budget: 3 })).toThrow(
      /budget/,
    );
    expect(() => rsd({ model: draft(), branching: 4, budget: 3 })).toThrow(/budget/);
    expect(() => rsd({ model: draft(), temperature: Number.NaN })).toThrow(/temperature/);
    expect(() => rsd({ model: toyModel({ vocabSize: 8 }), skipLayers: [0] })).toThrow(/skip/);
  });
});
