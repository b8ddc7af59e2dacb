import { InvalidArgumentError, createDecoder, mockModel } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { lud } from './lud.js';

const PAD = 0;

/** Next-token logits of a deterministic source: a peaked (confident) function of the last two tokens. */
function base(context: readonly number[], vocabSize: number, sharpness: number): Float32Array {
  const logits = new Float32Array(vocabSize);
  const a = context[context.length - 1] ?? 0;
  const b = context[context.length - 2] ?? 0;
  const next = 1 + ((a * 7 + b * 3 + 5) % (vocabSize - 1)); // never the placeholder
  for (let token = 0; token < vocabSize; token++) logits[token] = ((token * 13 + a) % 5) * 0.1;
  logits[next] += sharpness;
  return logits;
}

/**
 * An ideal "LUD-fine-tuned" model: at a placeholder it predicts what greedy decoding would put after the
 * greedy continuation of the placeholders before it. Without `tuned`, placeholders are ordinary tokens.
 */
function ludModel({ vocabSize = 24, sharpness = 6, tuned = true } = {}) {
  return mockModel({
    vocabSize,
    logits: context => {
      if (!tuned) return base(context, vocabSize, sharpness);
      const filled = [...context];
      let start = filled.length;
      while (start > 0 && filled[start - 1] === PAD) start--;
      for (let i = start; i < filled.length; i++) {
        const row = base(filled.slice(0, i), vocabSize, sharpness);
        filled[i] = row.indexOf(Math.max(...row));
      }
      return base(filled, vocabSize, sharpness);
    },
  });
}

describe('lud', () => {
  it('with threshold > 1 equals autoregressive decoding exactly (greedy and sampled with the same seed)', async () => {
    const model = ludModel({ sharpness: 2 });
    for (const options of [
      { maxTokens: 40, temperature: 0 },
      { maxTokens: 40, temperature: 0.8, seed: 3 },
      { maxTokens: 30, temperature: 0, repetitionPenalty: 1.3 },
    ]) {
      const plain = await createDecoder({ model }).generate({ tokens: [3, 4] }, options);
      const strategy = lud({ threshold: 1.01, placeholders: 3 });
      const multi = await createDecoder({ model })
        .use(strategy)
        .generate({ tokens: [3, 4] }, options);
      expect(multi.tokens).toEqual(plain.tokens);
      expect(strategy.counters.extraTokens).toBe(0);
      expect(strategy.lossless).toBe(true);
    }
  });

  it('accepts several tokens per forward on a model trained to fill placeholders, with the same output', async () => {
    const model = ludModel();
    const plain = await createDecoder({ model }).generate(
      { tokens: [3, 4] },
      { maxTokens: 60, temperature: 0 },
    );
    const strategy = lud({ threshold: 0.9, placeholders: 3, repetitionGuard: false });
    const multi = await createDecoder({ model })
      .use(strategy)
      .generate({ tokens: [3, 4] }, { maxTokens: 60, temperature: 0 });
    expect(multi.tokens).toEqual(plain.tokens);
    expect(multi.stats.forwardPasses - 1).toBeLessThan(plain.stats.forwardPasses / 2);
    expect(strategy.counters.extraTokens).toBeGreaterThan(30);
    expect(strategy.lossless).toBe(false);
  });

  it('stops at the first unconfident placeholder, and is lossy on an untuned model', async () => {
    const tuned = ludModel({ sharpness: 2.2 }); // top-1 ≈ 0.9: some placeholders pass, some do not
    const strict = lud({ threshold: 0.999, placeholders: 3 });
    await createDecoder({ model: tuned })
      .use(strict)
      .generate({ tokens: [3, 4] }, { maxTokens: 40, temperature: 0 });
    expect(strict.counters.extraTokens).toBe(0);
    const untuned = ludModel({ tuned: false });
    const plain = await createDecoder({ model: untuned }).generate(
      { tokens: [3, 4] },
      { maxTokens: 40, temperature: 0 },
    );
    const loose = lud({ threshold: 0.5, placeholders: 3 });
    const multi = await createDecoder({ model: untuned })
      .use(loose)
      .generate({ tokens: [3, 4] }, { maxTokens: 40, temperature: 0 });
    expect(loose.counters.extraTokens).toBeGreaterThan(0);
    expect(multi.tokens).not.toEqual(plain.tokens);
  });

  it('re-feeds accepted tokens so the KV cache only ever holds real tokens', async () => {
    const model = ludModel();
    await createDecoder({ model })
      .use(lud({ threshold: 0.9, placeholders: 2, repetitionGuard: false }))
      .generate({ tokens: [3, 4] }, { maxTokens: 12, temperature: 0 });
    for (const call of model.forwardCalls.slice(1)) {
      const real = call.tokens.filter(token => token !== PAD);
      expect(call.tokens.slice(0, real.length)).toEqual(real); // real tokens first, placeholders after
    }
  });

  it('respects maxTokens inside a multi-token step', async () => {
    const model = ludModel();
    for (const maxTokens of [1, 2, 5, 7]) {
      const result = await createDecoder({ model })
        .use(lud({ threshold: 0.9, repetitionGuard: false }))
        .generate({ tokens: [3, 4] }, { maxTokens, temperature: 0 });
      expect(result.tokens).toHaveLength(maxTokens);
    }
  });

  it.each([
    { options: { placeholders: 0 }, argument: 'placeholders' },
    { options: { threshold: 0 }, argument: 'threshold' },
    { options: { placeholderTokenId: -1 }, argument: 'placeholderTokenId' },
  ])('rejects invalid $argument', ({ options, argument }) => {
    let error: unknown;
    try {
      lud(options);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });
});
