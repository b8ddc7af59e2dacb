import {
  InvalidArgumentError,
  VocabMismatchError,
  createDecoder,
  mockModel,
  seededRandom,
} from '@decodekit/core';
import type { DraftTree } from '@decodekit/core';
import { assert, describe, expect, it } from 'vitest';
import { onlineSdDrafter, onlineSpeculative } from './index.js';

const V = 8;
/** Target: strongly prefers (last + 3) mod V. */
const target = () =>
  mockModel({
    vocabSize: V,
    logits(context) {
      const out = new Float32Array(V);
      out[(context[context.length - 1] + 3) % V] = 6;
      return out;
    },
  });
/** Draft: prefers (last + 1) mod V — always wrong for the target above. */
const wrongDraft = () =>
  mockModel({
    vocabSize: V,
    logits(context) {
      const out = new Float32Array(V);
      out[(context[context.length - 1] + 1) % V] = 2;
      return out;
    },
  });

/** Target with a context-free preference for token 5: a global bias can learn it. */
const constantTarget = () =>
  mockModel({
    vocabSize: V,
    logits() {
      const out = new Float32Array(V);
      out[5] = 4;
      return out;
    },
  });

async function acceptanceOver(
  strategy: ReturnType<typeof onlineSpeculative>,
  runs: number,
  temperature: number,
  makeTarget = target,
) {
  const rates: number[] = [];
  for (let run = 0; run < runs; run++) {
    const { stats } = await createDecoder({ model: makeTarget() })
      .use(strategy)
      .generate({ tokens: [run % V] }, { maxTokens: 24, temperature, seed: run });
    rates.push((stats.acceptedDraftTokens ?? 0) / (stats.draftTokens ?? 1));
  }
  return rates;
}

describe('onlineSpeculative', () => {
  it('validates its options', () => {
    const model = wrongDraft();
    expect(() => onlineSpeculative({ model: undefined as never })).toThrow(InvalidArgumentError);
    expect(() => onlineSpeculative({ model, learningRate: -1 })).toThrow(InvalidArgumentError);
    expect(() => onlineSpeculative({ model, learningRate: Number.NaN })).toThrow(
      InvalidArgumentError,
    );
    expect(() => onlineSpeculative({ model, draftLength: 0 })).toThrow(InvalidArgumentError);
    expect(() => onlineSpeculative({ model, correction: 'lora' as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() => onlineSpeculative({ model, temperature: -0.1 })).toThrow(InvalidArgumentError);
    expect(() => onlineSpeculative({ model, skipLayers: [99] })).toThrow(InvalidArgumentError);
  });

  it('rejects a draft model with another vocabulary', async () => {
    const strategy = onlineSpeculative({
      model: mockModel({ vocabSize: V + 1, logits: () => new Float32Array(V + 1) }),
    });
    await expect(
      createDecoder({ model: target() })
        .use(strategy)
        .generate({ tokens: [1] }, { maxTokens: 4 }),
    ).rejects.toThrow(VocabMismatchError);
  });

  it('takes the gradient step −lr·(q − p)/T on the bias at each verified row', async () => {
    const draft = wrongDraft();
    const drafter = onlineSdDrafter({
      model: draft,
      learningRate: 0.25,
      correction: 'bias',
      draftLength: 2,
    });
    const t = target();
    assert(
      drafter.begin && drafter.observe && drafter.end,
      'the online drafter has begin, observe and end',
    );
    drafter.begin({ tokens: [0], model: t, random: seededRandom(1), temperature: 1 });
    const tree = (await drafter.propose({
      tokens: [0],
      promptLength: 1,
      maxNodes: 2,
      remaining: 10,
      treeCapable: true,
      greedy: false,
    })) as DraftTree;
    expect(tree.tokens.length).toBe(2);
    // Target logits rows: row 0 (pending) and one per draft row. Reject the first draft row: only row 0 is fitted.
    const logits = new Float32Array(3 * V);
    logits[5] = 3; // row 0, token 5
    drafter.observe({ tokens: [0], tree, acceptedRows: [], emitted: [5], logits, vocabSize: V });
    assert(tree.qDistributions, 'a sampling drafter proposes with distributions');
    const q0 = tree.qDistributions.subarray(0, V);
    const z = Array.from({ length: V }, (_, i) => (i === 5 ? Math.exp(3) : 1));
    const sum = z.reduce((a, b) => a + b, 0);
    for (let i = 0; i < V; i++)
      expect(drafter.bias[i]).toBeCloseTo(-0.25 * (q0[i] - z[i] / sum), 5);
    drafter.end();
    expect(drafter.history).toEqual([{ proposed: 2, accepted: 0, fittedRows: 1 }]);
  });

  it('raises greedy acceptance over a stream of generations and keeps the output exact', async () => {
    const learning = onlineSpeculative({ model: wrongDraft(), learningRate: 1 });
    const frozen = onlineSpeculative({ model: wrongDraft(), learningRate: 0 });
    const rates = await acceptanceOver(learning, 6, 0);
    const baseline = await acceptanceOver(frozen, 6, 0);
    expect(baseline.every(rate => rate === 0)).toBe(true);
    expect(rates[0]).toBeLessThan(0.5);
    expect(rates[5]).toBeGreaterThan(0.9);
    expect(learning.drafter.history).toHaveLength(6);
    const ar = await createDecoder({ model: target() }).generate(
      { tokens: [2] },
      { maxTokens: 24, temperature: 0 },
    );
    const spec = await createDecoder({ model: target() })
      .use(learning)
      .generate({ tokens: [2] }, { maxTokens: 24, temperature: 0 });
    expect(spec.tokens).toEqual(ar.tokens);
  });

  it('learns a context-free preference at temperature > 0 with the global bias alone, and reset() forgets', async () => {
    const learning = onlineSpeculative({
      model: wrongDraft(),
      learningRate: 1,
      correction: 'bias',
    });
    const rates = await acceptanceOver(learning, 6, 1, constantTarget);
    expect(rates[5]).toBeGreaterThan(rates[0] + 0.2);
    expect(learning.drafter.bias.some(value => value !== 0)).toBe(true);
    learning.drafter.reset();
    expect(learning.drafter.bias.every(value => value === 0)).toBe(true);
    expect(learning.drafter.history).toHaveLength(0);
  });
});
