import { createDecoder, InvalidArgumentError, VocabMismatchError } from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { pearl } from './index.js';

const target = toyModel({ vocabSize: 12, seed: 5, copyBias: 2 });
const prompt = { tokens: [1, 4, 2, 7] };

describe('pearl', () => {
  it('gives the same tokens with concurrent and sequential scheduling under a fixed seed', async () => {
    for (const temperature of [0, 0.8]) {
      const outputs = [];
      for (const concurrent of [true, false]) {
        const draft = toyModel({ vocabSize: 12, seed: 6, copyBias: 2 });
        const decoder = createDecoder({ model: target }).use(
          pearl({ model: draft, gamma: 3, temperature, concurrent }),
        );
        outputs.push(
          (await decoder.generate(prompt, { maxTokens: 60, temperature, seed: 11 })).tokens,
        );
      }
      expect(outputs[0]).toEqual(outputs[1]);
    }
  });

  it('with the target as its own draft every token is accepted and it stays in post-verify', async () => {
    const strategy = pearl({ model: toyModel({ vocabSize: 12, seed: 5, copyBias: 2 }), gamma: 4 });
    const { tokens, stats } = await createDecoder({ model: target })
      .use(strategy)
      .generate(prompt, { maxTokens: 41 });
    const plain = await createDecoder({ model: target }).generate(prompt, { maxTokens: 41 });
    expect(tokens).toEqual(plain.tokens);
    expect(strategy.stats.preVerifyRounds).toBe(1);
    expect(strategy.stats.acceptedTokens).toBe(strategy.stats.verifiedTokens);
    // Round 1 emits 1 token, every later round γ = 4: 1 + 4·10 = 41 tokens in 11 target forwards.
    expect(stats.forwardPasses - 1).toBe(11);
  });

  it('uses pre-verify after a rejection and counts the draft tokens it discards', async () => {
    const strategy = pearl({ model: toyModel({ vocabSize: 12, seed: 99 }), gamma: 3 });
    await createDecoder({ model: target }).use(strategy).generate(prompt, { maxTokens: 50 });
    const s = strategy.stats;
    expect(s.preVerifyRounds).toBeGreaterThan(1);
    expect(s.postVerifyRounds).toBeGreaterThan(0);
    expect(s.acceptedTokens).toBeLessThan(s.verifiedTokens);
    expect(s.draftedTokens).toBeGreaterThan(s.verifiedTokens);
  });

  it('validates options and the vocabulary', async () => {
    const draft = toyModel({ vocabSize: 12 });
    expect(() => pearl({ model: undefined as never })).toThrow(InvalidArgumentError);
    expect(() => pearl({ model: draft, gamma: 0 })).toThrow(InvalidArgumentError);
    expect(() => pearl({ model: draft, temperature: -1 })).toThrow(InvalidArgumentError);
    expect(() => pearl({ model: draft, concurrent: 'yes' as never })).toThrow(InvalidArgumentError);
    const decoder = createDecoder({ model: target }).use(
      pearl({ model: toyModel({ vocabSize: 9 }) }),
    );
    await expect(decoder.generate(prompt, { maxTokens: 5 })).rejects.toThrow(VocabMismatchError);
  });
});
