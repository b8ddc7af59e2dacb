import {
  autoregressive,
  chain,
  mockModel,
  repetitionPenalty,
  softmax,
  speculative,
  type LogitsProcessor,
  type Strategy,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { exactJoint } from './exact-joint.js';
import { distributionCheck, greedyCheck } from './strategy-conformance.js';
import { toyModel } from './toy-model.js';

/**
 * The conformance checks must be able to fail: each negative control below is a wrong strategy that the
 * check has to catch, next to the right one that it has to pass.
 */

/** Autoregressive sampling that moves `bias` of the probability onto token `favoured` at every step. */
function biasedSampler(favoured: number, bias: number): Strategy {
  return {
    kind: 'strategy',
    name: `biased(${favoured}, ${bias})`,
    lossless: false,
    async run(context) {
      const vocab = context.model.info.vocabSize;
      for (;;) {
        const { logits } = await context.forward({
          tokens: Int32Array.of(context.tokens[context.tokens.length - 1]),
        });
        context.sequence.commit([0]);
        const row = logits.slice(0, vocab);
        context.processor.process(row, context.processorState);
        const p = softmax(row);
        for (let token = 0; token < vocab; token++) p[token] *= 1 - bias;
        p[favoured] += bias;
        let target = context.random.next();
        let token = 0;
        while (token < vocab - 1 && target >= p[token]) target -= p[token++];
        if (!context.emit(token, 'target')) return;
      }
    },
  };
}

describe('O-dist negative controls', () => {
  const model = toyModel({ vocabSize: 8, seed: 11, copyBias: 2 });

  it('passes autoregressive sampling and fails a sampler biased by 2% towards one token', async () => {
    const exact = await distributionCheck({ model, strategy: autoregressive(), samples: 100_000 });
    expect(exact.pValue).toBeGreaterThan(0.01);
    const biased = await distributionCheck({
      model,
      strategy: biasedSampler(3, 0.02),
      samples: 100_000,
    });
    expect(
      biased.pValue,
      `chi2 = ${biased.statistic.toFixed(1)}, df = ${biased.degreesOfFreedom}`,
    ).toBeLessThan(0.01);
  }, 120_000);
});

describe('exactJoint', () => {
  it('equals the joint computed by hand for a two-token horizon with a repetition penalty', async () => {
    // Vocab 3. The logits depend on the last token only: after token t, logits are [t == 0 ? 1 : 0, 0, ln 2].
    const model = mockModel({
      name: 'hand',
      vocabSize: 3,
      eosTokenIds: [],
      logits: context => Float32Array.of(context[context.length - 1] === 0 ? 1 : 0, 0, Math.log(2)),
    });
    const penalty = 2;
    const joint = await exactJoint({
      model,
      prompt: [1],
      steps: 2,
      options: { maxTokens: 2, temperature: 1, repetitionPenalty: penalty },
    });
    // Step 1 after [1]: token 1 was seen, its logit 0 stays 0 under the penalty (0 / 2 = 0): weights [1, 1, 2].
    const first = [1 / 4, 1 / 4, 2 / 4];
    // Step 2 after [1, a]: logits as above from the last token a; seen tokens {1, a} are penalized
    // (positive logits divided by 2, negative multiplied).
    const second = (a: number): number[] => {
      const logits = [a === 0 ? 1 : 0, 0, Math.log(2)];
      for (const seen of new Set([1, a]))
        logits[seen] = logits[seen] > 0 ? logits[seen] / penalty : logits[seen] * penalty;
      const weights = logits.map(Math.exp);
      const total = weights.reduce((sum, weight) => sum + weight, 0);
      return weights.map(weight => weight / total);
    };
    const expected: number[] = [];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) expected.push(first[a] * second(a)[b]);
    expect(Array.from(joint)).toEqual(expected.map(value => expect.closeTo(value, 6)));
    expect(Array.from(joint).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 6);
  });
});

describe('O-greedy negative control', () => {
  /** Autoregressive greedy that leaves out the first processor of the chain (here: the repetition penalty). */
  // `_skipped` names the processor left out; with a one-processor chain nothing else is left to run.
  function skipsOneProcessor(_skipped: LogitsProcessor<unknown>): Strategy {
    return {
      kind: 'strategy',
      name: 'skips-one-processor',
      lossless: true,
      async run(context) {
        const vocab = context.model.info.vocabSize;
        // The decoder's chain minus `_skipped`, rebuilt from the same prompt.
        const partial = chain();
        let state = partial.init(context.tokens);
        for (;;) {
          const { logits } = await context.forward({
            tokens: Int32Array.of(context.tokens[context.tokens.length - 1]),
          });
          context.sequence.commit([0]);
          const row = logits.slice(0, vocab);
          partial.process(row, state);
          const token = context.sampler.sample(row, context.random);
          state = partial.advance(state, token);
          if (!context.emit(token, 'target')) return;
        }
      },
    };
  }

  it('catches a strategy that skips one processor and passes the speculative engine', async () => {
    const model = toyModel({ vocabSize: 16, seed: 2, copyBias: 3 });
    const penalty = repetitionPenalty(1.5);
    const prompts = [[0], [1, 2, 3, 1, 2], [5, 4, 5, 4, 5, 4]];
    const wrong = await greedyCheck({
      model,
      makeStrategy: () => skipsOneProcessor(penalty),
      prompts,
      options: { maxTokens: 30 },
      processors: () => [penalty],
    });
    expect(wrong.mismatches.length).toBeGreaterThan(0);
    const drafter = {
      name: 'repeat-last',
      propose: ({ tokens }: { tokens: readonly number[] }) => ({
        tokens: Int32Array.of(tokens[tokens.length - 2] ?? 0, tokens[tokens.length - 1]),
        parents: Int32Array.of(-1, 0),
      }),
    };
    const right = await greedyCheck({
      model,
      makeStrategy: () => speculative({ drafter, adaptive: false }),
      prompts,
      options: { maxTokens: 30 },
      processors: () => [penalty],
    });
    expect(right.mismatches).toEqual([]);
  });
});
