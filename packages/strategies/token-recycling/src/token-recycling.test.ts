import { createDecoder, mockModel, speculative, testBeginContext } from '@decodekit/core';
import type {
  CausalLM,
  DraftContext,
  Drafter,
  DraftTree,
  GenerateOptions,
  VerifyResult,
} from '@decodekit/core';
import { assert, describe, expect, it } from 'vitest';
import { chaoticModel, cyclicModel, markovModel } from '@decodekit/conformance';
import { tokenRecycling } from './token-recycling.js';
import type { TokenRecyclingOptions } from './token-recycling.js';
import { TREE_TEMPLATE_2_2_2 } from './tree-template.js';

const vocabSize = 32;
const fakeModel = { info: { vocabSize } } as unknown as CausalLM;

/** Logits whose top-8 for token t are t+1, t+2, ..., t+8 (mod vocab), in that order. */
function successorLogits(token: number): Float32Array {
  const row = new Float32Array(vocabSize);
  for (let rank = 0; rank < 8; rank++) row[(token + 1 + rank) % vocabSize] = 10 - rank;
  return row;
}

function verifyResult(context: number[], tree: DraftTree, rowLogits: Float32Array[]): VerifyResult {
  const logits = new Float32Array(rowLogits.length * vocabSize);
  rowLogits.forEach((row, index) => logits.set(row, index * vocabSize));
  return { tokens: context, tree, acceptedRows: [], emitted: [], logits, vocabSize };
}

const context = (tokens: number[], overrides: Partial<DraftContext> = {}): DraftContext => ({
  tokens,
  promptLength: tokens.length,
  maxNodes: 80,
  remaining: 100,
  treeCapable: true,
  greedy: false,
  ...overrides,
});

/** A drafter whose every row t is filled with successorLogits(t). */
async function warmDrafter(options: TokenRecyclingOptions = {}) {
  const drafter = tokenRecycling(options);
  await drafter.begin?.(testBeginContext({ tokens: [0], model: fakeModel }));
  const tree: DraftTree = {
    tokens: Int32Array.from({ length: vocabSize - 1 }, (_, i) => i + 1),
    parents: Int32Array.from({ length: vocabSize - 1 }, (_, i) => i - 1),
  };
  await drafter.observe?.(
    verifyResult(
      [0],
      tree,
      Array.from({ length: vocabSize }, (_, token) => successorLogits(token)),
    ),
  );
  return drafter;
}

describe('tokenRecycling state', () => {
  it('updates the row of the token fed at every forward row, rejected rows included; later rows win', async () => {
    const drafter = tokenRecycling({ topK: 3 });
    await drafter.begin?.(testBeginContext({ tokens: [5], model: fakeModel }));
    expect(drafter.candidatesOf(5)).toBeUndefined();
    const tree: DraftTree = {
      tokens: Int32Array.from([7, 9, 7]),
      parents: Int32Array.from([-1, -1, 0]),
    };
    const row = (ids: number[]) => {
      const values = new Float32Array(vocabSize);
      ids.forEach((id, rank) => (values[id] = 5 - rank));
      return values;
    };
    await drafter.observe?.(
      verifyResult([1, 5], tree, [
        row([1, 2, 3]),
        row([4, 5, 6]),
        row([7, 8, 9]),
        row([10, 11, 12]),
      ]),
    );
    expect(drafter.candidatesOf(5)).toEqual([1, 2, 3]); // pending token = row 0
    expect(drafter.candidatesOf(9)).toEqual([7, 8, 9]);
    expect(drafter.candidatesOf(7)).toEqual([10, 11, 12]); // rows 1 and 3 both feed 7: the last wins
    expect(drafter.candidatesOf(1)).toBeUndefined();
  });

  it('reports its state in bytes: vocab × topK Int32 plus one fill byte per token', async () => {
    const drafter = tokenRecycling();
    expect(drafter.stateBytes()).toBe(80 * 4 * 2); // scratch only, before the first generation
    await drafter.begin?.(
      testBeginContext({
        tokens: [0],
        model: { info: { vocabSize: 32000 } } as unknown as CausalLM,
      }),
    );
    expect(drafter.stateBytes()).toBe(32000 * 8 * 4 + 32000 + 80 * 4 * 2); // ≈ 1.05 MB
    drafter.reset();
    expect(drafter.candidatesOf(0)).toBeUndefined();
  });

  it('persists across generations unless persist is false', async () => {
    const warm = await warmDrafter();
    await warm.begin?.(testBeginContext({ tokens: [1], model: fakeModel }));
    expect(warm.candidatesOf(1)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const cold = await warmDrafter({ persist: false });
    await cold.begin?.(testBeginContext({ tokens: [1], model: fakeModel }));
    expect(cold.candidatesOf(1)).toBeUndefined();
  });
});

/** The tree `drafter` proposes for `draftContext`, asserting that it proposes one. */
async function proposeTree(drafter: Drafter, draftContext: DraftContext): Promise<DraftTree> {
  const tree = await drafter.propose(draftContext);
  assert(tree, 'the drafter proposed no tree');
  return tree;
}

describe('tokenRecycling drafts', () => {
  it('expands the whole 80-node template breadth-first from the last token', async () => {
    const drafter = await warmDrafter();
    const tree = await proposeTree(drafter, context([3, 0]));
    expect(tree.tokens).toHaveLength(80);
    // Node [a, b, ...] from root 0 is token (a + 1) + (b + 1) + ... (every row t lists t+1..t+8).
    TREE_TEMPLATE_2_2_2.forEach((path, row) => {
      expect(tree.tokens[row]).toBe(path.reduce((sum, rank) => sum + rank + 1, 0) % vocabSize);
      const parentPath = path.slice(0, -1).join(',');
      const parentRow =
        path.length === 1 ? -1 : TREE_TEMPLATE_2_2_2.findIndex(p => p.join(',') === parentPath);
      expect(tree.parents[row]).toBe(parentRow);
    });
  });

  it.each([1, 8, 10, 29, 50])(
    'keeps the first %i template nodes for a budget of that size',
    async maxNodes => {
      const drafter = await warmDrafter();
      const tree = await proposeTree(drafter, context([0], { maxNodes }));
      expect(tree.tokens).toHaveLength(maxNodes);
      const full = await proposeTree(drafter, context([0]));
      expect([...tree.tokens]).toEqual([...full.tokens.subarray(0, maxNodes)]);
      expect([...tree.parents]).toEqual([...full.parents.subarray(0, maxNodes)]);
    },
  );

  it('caps the depth at the remaining tokens and drafts a first-candidate chain on chain-only backends', async () => {
    const drafter = await warmDrafter();
    const shallow = await proposeTree(drafter, context([0], { remaining: 2 }));
    expect(shallow.tokens).toHaveLength(8 + 21);
    const chain = await proposeTree(drafter, context([4], { treeCapable: false }));
    expect([...chain.tokens]).toEqual([5, 6, 7, 8, 9, 10]);
    expect([...chain.parents]).toEqual([-1, 0, 1, 2, 3, 4]);
  });

  it('drafts nothing from rows it has never filled, and skips the subtrees of unfilled nodes', async () => {
    const drafter = tokenRecycling({ topK: 2, template: [[0], [1], [0, 0], [1, 0]] });
    await drafter.begin?.(testBeginContext({ tokens: [0], model: fakeModel }));
    expect(await drafter.propose(context([0]))).toBeUndefined();
    const root = new Float32Array(vocabSize);
    root[5] = 2;
    root[6] = 1;
    const five = new Float32Array(vocabSize);
    five[9] = 1;
    five[0] = 0.5;
    await drafter.observe?.(
      verifyResult([0], { tokens: Int32Array.from([5]), parents: Int32Array.from([-1]) }, [
        root,
        five,
      ]),
    );
    const tree = await proposeTree(drafter, context([0]));
    // [0] = 5, [1] = 6, [0,0] = 9 (row 5 filled), [1,0] dropped (row 6 never filled).
    expect([...tree.tokens]).toEqual([5, 6, 9]);
    expect([...tree.parents]).toEqual([-1, -1, 0]);
  });
});

async function compare(
  model: CausalLM,
  prompt: number[],
  options: GenerateOptions,
  drafter = tokenRecycling(),
  budget?: number,
) {
  const plain = await createDecoder({ model }).generate({ tokens: prompt }, options);
  const fast = await createDecoder({ model })
    .use(speculative({ drafter, budget, adaptive: false }))
    .generate({ tokens: prompt }, options);
  return { plain, fast };
}

describe('tokenRecycling through speculative() (O-greedy)', () => {
  const greedy = { maxTokens: 60, temperature: 0 };

  it.each([
    { seed: 1, budget: 16 },
    { seed: 2, budget: 80 },
    { seed: 3, budget: 5 },
    { seed: 4, budget: 80 },
    { seed: 5, budget: 32 },
  ])(
    'is token-identical to greedy decoding (markov seed $seed, budget $budget)',
    async ({ seed, budget }) => {
      const model = markovModel({ seed, order: 2, vocabSize: 12 });
      const { plain, fast } = await compare(model, [1, 2, 3, 4], greedy, tokenRecycling(), budget);
      expect(fast.tokens).toEqual(plain.tokens);
      expect(fast.reason).toBe(plain.reason);
    },
  );

  it('accepts drafts on predictable output (τ > 1) and gets faster once warm', async () => {
    const model = cyclicModel();
    const drafter = tokenRecycling();
    const cold = await compare(model, [0], greedy, drafter, 80);
    expect(cold.fast.tokens).toEqual(cold.plain.tokens);
    expect(cold.fast.stats.meanAcceptedTokens).toBeGreaterThan(3);
    const warm = await compare(model, [3], greedy, drafter, 80);
    expect(warm.fast.tokens).toEqual(warm.plain.tokens);
    expect(warm.fast.stats.forwardPasses).toBeLessThan(cold.fast.stats.forwardPasses);
    expect(warm.fast.stats.meanAcceptedTokens).toBeGreaterThan(6); // depth 6 + bonus, minus the tail
  });

  it('gets τ > 1 on a finite-state model with the paper template', async () => {
    const model = markovModel({ seed: 11, order: 1, vocabSize: 16 });
    const { plain, fast } = await compare(
      model,
      [1, 2, 3],
      { maxTokens: 100, temperature: 0 },
      tokenRecycling(),
      80,
    );
    expect(fast.tokens).toEqual(plain.tokens);
    expect(fast.stats.meanAcceptedTokens).toBeGreaterThan(2);
  });

  it('stays exact on a chaotic model, a chain-only backend, with penalties and at EOS', async () => {
    const chaotic = await compare(chaoticModel(), [1, 2, 3], greedy, tokenRecycling(), 80);
    expect(chaotic.fast.tokens).toEqual(chaotic.plain.tokens);

    const chainOnly = await compare(
      markovModel({ seed: 6, order: 1, tree: false }),
      [1, 2],
      greedy,
      tokenRecycling(),
      80,
    );
    expect(chainOnly.fast.tokens).toEqual(chainOnly.plain.tokens);
    expect(chainOnly.fast.stats.meanAcceptedTokens).toBeGreaterThan(1);

    const penalized = await compare(
      markovModel({ seed: 7, order: 1, vocabSize: 10 }),
      [1, 2],
      { ...greedy, repetitionPenalty: 1.2, noRepeatNgramSize: 3 },
      tokenRecycling(),
      80,
    );
    expect(penalized.fast.tokens).toEqual(penalized.plain.tokens);

    const base = cyclicModel({ vocabSize: 12, period: 9 });
    const withEos = { ...base, info: { ...base.info, eosTokenIds: [8] } };
    const drafter = tokenRecycling();
    await compare(withEos, [0], greedy, drafter, 80); // warm up
    const eos = await compare(withEos, [0], greedy, drafter, 80);
    expect(eos.fast.tokens).toEqual(eos.plain.tokens);
    expect(eos.fast.reason).toBe('eos');
  });

  it('keeps the target distribution under sampling (seeded)', async () => {
    const table = [
      [1.0, 0.2, -0.5],
      [0.1, 0.9, 0.3],
      [-0.4, 0.6, 0.8],
    ];
    const model = mockModel({ vocabSize: 3, logits: tokens => table[tokens[tokens.length - 1]] });
    const softmax = (row: number[]) => {
      const weights = row.map(value => Math.exp(value));
      const sum = weights.reduce((a, b) => a + b, 0);
      return weights.map(value => value / sum);
    };
    const drafter = tokenRecycling({ topK: 2, template: [[0], [1], [0, 0], [0, 1], [1, 0]] });
    const decoder = createDecoder({ model }).use(speculative({ drafter }));
    await decoder.generate({ tokens: [0, 1, 2] }, { maxTokens: 20, temperature: 0 }); // warm every row
    const samples = 3000;
    const counts = new Map<string, number>();
    let drafted = 0;
    for (let seed = 0; seed < samples; seed++) {
      const { tokens, stats } = await decoder.generate(
        { tokens: [2, 0] },
        { maxTokens: 2, temperature: 1, seed },
      );
      drafted += stats.draftTokens ?? 0;
      counts.set(tokens.join(','), (counts.get(tokens.join(',')) ?? 0) + 1);
    }
    let chiSquare = 0;
    const first = softmax(table[0]);
    for (let a = 0; a < 3; a++) {
      const second = softmax(table[a]);
      for (let b = 0; b < 3; b++) {
        const expected = first[a] * second[b] * samples;
        chiSquare += ((counts.get(`${a},${b}`) ?? 0) - expected) ** 2 / expected;
      }
    }
    expect(drafted).toBeGreaterThan(samples); // the drafts were really verified
    expect(chiSquare).toBeLessThan(26.1); // 8 degrees of freedom, p = 0.001
  });
});
