import { InvalidArgumentError, UnsupportedCapabilityError, createDecoder } from '@decodekit/core';
import { chiSquareTest, exactJoint, toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { layerSkipModel } from './__fixtures__/layer-skip-model.js';
import { swift } from './swift.js';

const greedy = { maxTokens: 40, temperature: 0 };

describe('swift drafting (toy model with emulated layer skip)', () => {
  it.each([1, 2, 3])(
    'is token-identical to greedy decoding, seed %i (searched, fixed and empty layer sets)',
    async seed => {
      const model = layerSkipModel(toyModel({ vocabSize: 16, seed, copyBias: 3 }));
      for (const prompt of [[0], [1, 2, 3, 1, 2], [5, 4, 5, 4, 5, 4]]) {
        const plain = await createDecoder({ model }).generate({ tokens: prompt }, greedy);
        for (const strategy of [
          swift({ contextWindow: 8 }),
          swift({ skipLayers: [2] }),
          swift({ skipLayers: [] }),
        ]) {
          const fast = await createDecoder({ model })
            .use(strategy)
            .generate({ tokens: prompt }, greedy);
          expect(fast.tokens, `prompt ${prompt}`).toEqual(plain.tokens);
        }
      }
    },
  );

  it('with no layer skipped the draft is the target: every draft token is accepted', async () => {
    const model = layerSkipModel(toyModel({ vocabSize: 16, seed: 4, copyBias: 3 }));
    const result = await createDecoder({ model })
      .use(swift({ skipLayers: [], stopThreshold: 0, maxDraftSteps: 4, adaptive: false }))
      .generate({ tokens: [1, 2] }, greedy);
    // Greedy: the chain (first rows) is exactly the target's argmax path.
    expect(result.stats.meanAcceptedTokens).toBeGreaterThan(4);
  });

  it('stays exact with penalties, EOS inside an accepted block and maxTokens cuts', async () => {
    const model = layerSkipModel(
      toyModel({ vocabSize: 12, seed: 5, copyBias: 4, eosTokenIds: [3] }),
    );
    for (const maxTokens of [1, 2, 5, 11, 30]) {
      const options = { maxTokens, temperature: 0, repetitionPenalty: 1.3 };
      const plain = await createDecoder({ model }).generate({ tokens: [1, 2, 1, 2] }, options);
      const fast = await createDecoder({ model })
        .use(swift({ skipLayers: [1] }))
        .generate({ tokens: [1, 2, 1, 2] }, options);
      expect(fast.tokens).toEqual(plain.tokens);
      expect(fast.reason).toBe(plain.reason);
    }
  });

  it('searches the layer set on the fly and keeps the one that reproduces the window best', async () => {
    // Layer 2 damages drafts most, layer 1 least: the search must end on [1].
    const model = layerSkipModel(
      toyModel({ vocabSize: 16, seed: 6, copyBias: 3 }),
      [0, 0.05, 3, 1.5, 0],
    );
    const strategy = swift({ contextWindow: 10, maxToleranceIterations: 10, seed: 1 });
    await createDecoder({ model })
      .use(strategy)
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 60, temperature: 0 });
    const search = strategy.search();
    expect(search.history.length).toBeGreaterThan(3);
    expect(search.skipLayers).toEqual([1]);
    expect(search.score).toBe(Math.max(...search.history.map(entry => entry.score)));
    expect(search.history.some(entry => entry.bayes)).toBe(false); // 12 iterations < bayesInterval
  });

  it('uses the Bayesian optimizer every bayesInterval-th iteration and stops at maxToleranceIterations', async () => {
    const model = layerSkipModel(
      toyModel({ vocabSize: 16, seed: 7, copyBias: 3 }),
      [0, 0.5, 0.5, 0.5, 0.5, 0.5, 0],
    );
    const strategy = swift({
      contextWindow: 6,
      bayesInterval: 3,
      maxToleranceIterations: 5,
      seed: 2,
    });
    await createDecoder({ model })
      .use(strategy)
      .generate({ tokens: [1, 2, 3] }, { maxTokens: 80, temperature: 0 });
    const search = strategy.search();
    expect(search.history.some(entry => entry.bayes)).toBe(true);
    expect(search.searching).toBe(false);
    expect(search.skipLayers).toHaveLength(2); // floor((7 - 2) · 0.45)
  });

  it('keeps the target distribution at T > 0 (O-dist, chi-square)', async () => {
    const model = layerSkipModel(toyModel({ vocabSize: 8, seed: 11, copyBias: 2 }));
    const prompt = [1, 2, 1];
    const options = { maxTokens: 3, temperature: 0.9, topK: 6, repetitionPenalty: 1.2 };
    const joint = await exactJoint({ model, prompt, steps: 3, options });
    const samples = 6000;
    const observed = Array.from({ length: joint.length }, () => 0);
    const decoder = createDecoder({ model }).use(swift({ skipLayers: [2], maxDraftSteps: 3 }));
    for (let seed = 0; seed < samples; seed++) {
      const { tokens } = await decoder.generate({ tokens: prompt }, { ...options, seed });
      observed[tokens.reduce((index, token) => index * 8 + token, 0)] += 1;
    }
    const { pValue } = chiSquareTest(observed, Array.from(joint));
    expect(pValue).toBeGreaterThan(0.01);
  }, 120_000);

  it('needs layerSkip', async () => {
    const model = toyModel({ vocabSize: 8 });
    let error: unknown;
    try {
      await createDecoder({ model })
        .use(swift())
        .generate({ tokens: [1] }, greedy);
    } catch (caught) {
      error = caught;
    }
    expect(UnsupportedCapabilityError.isInstance(error)).toBe(true);
  });

  it.each([
    { options: { skipRatio: 1 }, argument: 'skipRatio' },
    { options: { contextWindow: 0 }, argument: 'contextWindow' },
    { options: { maxScore: 2 }, argument: 'maxScore' },
    { options: { budget: 0 }, argument: 'budget' },
    { options: { skipLayers: [-1] }, argument: 'skipLayers' },
  ])('rejects invalid $argument', ({ options, argument }) => {
    let error: unknown;
    try {
      swift(options);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});
