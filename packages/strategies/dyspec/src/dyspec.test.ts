import { InvalidArgumentError, createDecoder, seededRandom } from '@decodekit/core';
import type { DraftContext, DraftTree } from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { dyspec, dyspecDrafter } from './dyspec.js';
import type { DyspecOptions } from './dyspec.js';

const target = () => toyModel({ vocabSize: 16, seed: 3, copyBias: 2 });
const draft = () => toyModel({ vocabSize: 16, seed: 4, copyBias: 2 });
const context = (maxNodes: number, greedy = false): DraftContext => ({
  tokens: [1, 2, 3],
  promptLength: 3,
  maxNodes,
  remaining: 100,
  treeCapable: true,
  greedy,
});

async function grow(options: Omit<DyspecOptions, 'model'>, maxNodes = 64, greedy = false) {
  const drafter = dyspecDrafter({ model: draft(), ...options });
  await drafter.begin?.({
    tokens: [1, 2, 3],
    model: target(),
    random: seededRandom(11),
    temperature: greedy ? 0 : 1,
  });
  const tree = (await drafter.propose(context(maxNodes, greedy))) as DraftTree;
  const forwards = drafter.draftForwards;
  const pops = [...drafter.lastPopValues];
  drafter.end?.();
  return { tree, forwards, pops };
}

describe('dyspec', () => {
  it.each([1, 7, 16, 40])(
    'Alg. 1 grows a tree of exactly the budget (%i nodes), distinct siblings',
    async budget => {
      const { tree } = await grow({ budget });
      expect(tree.tokens.length).toBe(budget);
      const siblings = new Set<string>();
      tree.tokens.forEach((token, row) => {
        expect(tree.parents[row]).toBeLessThan(row);
        const key = `${tree.parents[row]}:${token}`;
        expect(siblings.has(key)).toBe(false);
        siblings.add(key);
        expect(tree.q?.[row]).toBeCloseTo(tree.qDistributions?.[row * 16 + token] ?? Number.NaN, 6);
      });
    },
  );

  it('heap pops are non-increasing in value, starting at 1', async () => {
    const { pops } = await grow({ budget: 40 });
    expect(pops[0]).toBe(1);
    for (let i = 1; i < pops.length; i++) expect(pops[i]).toBeLessThanOrEqual(pops[i - 1] + 1e-12);
  });

  it('the draft model runs lazily: far fewer draft forwards than nodes', async () => {
    const { forwards } = await grow({ budget: 40 });
    expect(forwards).toBeLessThan(20);
  });

  it('an engine budget below the drafter budget caps the tree exactly', async () => {
    expect((await grow({ budget: 40 }, 9)).tree.tokens.length).toBe(9);
  });

  it('Alg. 2 (threshold): every drawn node has value above t before it is drawn, and the budget caps the size', async () => {
    const { tree } = await grow({ variant: 'threshold', budget: 64, threshold: 0.05 });
    expect(tree.tokens.length).toBeGreaterThan(1);
    expect(tree.tokens.length).toBeLessThanOrEqual(64);
    const big = await grow({ variant: 'threshold', budget: 20, threshold: 0.0001 });
    expect(big.tree.tokens.length).toBe(20);
  });

  it('greedy decoding: identical to autoregressive greedy for both algorithms', async () => {
    for (const variant of ['greedy', 'threshold'] as const) {
      const reference = await createDecoder({ model: target() }).generate(
        { tokens: [5, 4, 5] },
        { maxTokens: 40, temperature: 0 },
      );
      const result = await createDecoder({ model: target() })
        .use(dyspec({ model: draft(), variant, budget: 16 }))
        .generate({ tokens: [5, 4, 5] }, { maxTokens: 40, temperature: 0 });
      expect(result.tokens).toEqual(reference.tokens);
    }
  });

  it('adaptive: the engine sizes the tree from the cost curve and greedy output stays autoregressive', async () => {
    const reference = await createDecoder({ model: target() }).generate(
      { tokens: [5, 4, 5] },
      { maxTokens: 40, temperature: 0 },
    );
    // k rows cost k one-row forwards: only rows accepted more often than not pay, so the 16-node trees
    // DySpec grows are cut well below the budget.
    const steep = Array.from({ length: 64 }, (_, k) => Math.max(1, k));
    const decoder = createDecoder({ model: target() }).use(
      dyspec({ model: draft(), budget: 16, adaptive: true, costCurve: steep }),
    );
    const drafted: number[] = [];
    let tokens: number[] = [];
    for await (const event of decoder.stream(
      { tokens: [5, 4, 5] },
      { maxTokens: 40, temperature: 0 },
    )) {
      if (event.type === 'draft') drafted.push(event.tree.tokens.length);
      if (event.type === 'done') tokens = event.tokens;
    }
    expect(tokens).toEqual(reference.tokens);
    expect(drafted.length).toBeGreaterThan(0);
    expect(Math.max(...drafted)).toBeLessThan(16);
    // Without adaptive every tree has exactly the budget (or what the context leaves).
    const fixed: number[] = [];
    for await (const event of createDecoder({ model: target() })
      .use(dyspec({ model: draft(), budget: 16 }))
      .stream({ tokens: [5, 4, 5] }, { maxTokens: 40, temperature: 0 }))
      if (event.type === 'draft') fixed.push(event.tree.tokens.length);
    expect(Math.max(...fixed)).toBe(16);
  });

  it('adaptive at T = 0.8: the same seed gives the same output', async () => {
    const run = () =>
      createDecoder({ model: target() })
        .use(dyspec({ model: draft(), budget: 16, adaptive: true, costCurve: [1, 1, 1.2, 1.5, 2] }))
        .generate({ tokens: [1, 2, 3] }, { maxTokens: 40, temperature: 0.8, seed: 5 });
    expect((await run()).tokens).toEqual((await run()).tokens);
  });

  it('a draft equal to the target gets deep acceptance at T = 0.8', async () => {
    const result = await createDecoder({ model: target() })
      .use(dyspec({ model: target(), budget: 24 }))
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 60, temperature: 0.8, seed: 3 });
    expect(result.stats.meanAcceptedTokens).toBeGreaterThan(3);
  });

  it('validates its options', () => {
    expect(() => dyspec({ model: undefined as never })).toThrow(InvalidArgumentError);
    expect(() => dyspec({ model: draft(), budget: 0 })).toThrow(/budget/);
    expect(() => dyspec({ model: draft(), variant: 'x' as never })).toThrow(/variant/);
    expect(() => dyspec({ model: draft(), threshold: 1 })).toThrow(/threshold/);
    expect(() => dyspec({ model: draft(), maxDepth: 0 })).toThrow(/maxDepth/);
    expect(() => dyspec({ model: draft(), temperature: -2 })).toThrow(/temperature/);
    expect(() => dyspec({ model: draft(), skipLayers: [0] })).toThrow(/skip/);
  });
});
