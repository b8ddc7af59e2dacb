import {
  createDecoder,
  InvalidArgumentError,
  VocabMismatchError,
  type CausalLM,
} from '@decodekit/core';
import { toyModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { entropyAdaptiveDecoding, entropyBits } from './index.js';

const small = toyModel({ vocabSize: 16, seed: 21, copyBias: 1 });
const large = toyModel({ vocabSize: 16, seed: 7, copyBias: 3 });
const prompts = [[0], [1, 2, 3, 1, 2], [5, 4, 5, 4, 5, 4]];

async function run(
  model: CausalLM,
  strategy?: ReturnType<typeof entropyAdaptiveDecoding>,
  prompt = [1, 2, 3],
  options = {},
) {
  let decoder = createDecoder({ model });
  if (strategy) decoder = decoder.use(strategy);
  return (await decoder.generate({ tokens: prompt }, { maxTokens: 30, temperature: 0, ...options }))
    .tokens;
}

describe('entropyBits', () => {
  it('is log2(V) for uniform logits and 0 for a one-hot', () => {
    expect(entropyBits(new Float32Array(8))).toBeCloseTo(3, 6);
    expect(entropyBits(Float32Array.from([0, -Infinity, -Infinity]))).toBe(0);
    expect(
      entropyBits(Float32Array.from([Math.log(0.5), Math.log(0.25), Math.log(0.25)])),
    ).toBeCloseTo(1.5, 6);
  });
});

describe('entropyAdaptiveDecoding', () => {
  it("threshold +∞ gives the small model's greedy output, −∞ the large model's, exactly", async () => {
    for (const prompt of prompts) {
      for (const options of [{}, { repetitionPenalty: 1.3 }]) {
        const smallOut = await run(small, undefined, prompt, options);
        const largeOut = await run(large, undefined, prompt, options);
        expect(smallOut).not.toEqual(largeOut);
        const onlySmall = entropyAdaptiveDecoding({ small, threshold: Infinity });
        expect(await run(large, onlySmall, prompt, options)).toEqual(smallOut);
        expect(onlySmall.lastStats.largeTokens).toBe(0);
        expect(onlySmall.lastStats.largeForwards).toBe(0);
        const onlyLarge = entropyAdaptiveDecoding({ small, threshold: -Infinity });
        expect(await run(large, onlyLarge, prompt, options)).toEqual(largeOut);
        expect(onlyLarge.lastStats.smallTokens).toBe(0);
        // The small model scores the first position only, then the large one keeps going.
        expect(onlyLarge.lastStats.smallForwards).toBe(1);
      }
    }
  });

  it('the large-model share is monotone in the threshold and switches happen in between', async () => {
    const thresholds = [-Infinity, 2.6, 2.8, 3.0, 3.2, 3.4, 3.6, Infinity];
    const shares: number[] = [];
    let switched = false;
    for (const threshold of thresholds) {
      const strategy = entropyAdaptiveDecoding({ small, threshold, window: 1 });
      for (const prompt of prompts) await run(large, strategy, prompt, { maxTokens: 40 });
      const { largeTokens, smallTokens, switches } = strategy.totals;
      shares.push(largeTokens / (largeTokens + smallTokens));
      if (largeTokens > 0 && smallTokens > 0 && switches > 1) switched = true;
    }
    for (let i = 1; i < shares.length; i++) expect(shares[i]).toBeLessThanOrEqual(shares[i - 1]);
    expect(shares[0]).toBe(1);
    expect(shares.at(-1)).toBe(0);
    expect(switched).toBe(true);
  });

  it('keeps both KV sequences in step: a mixed run equals replaying each token from its model', async () => {
    // Reference: at every position recompute from scratch with the model EAD used; the tokens must match.
    const strategy = entropyAdaptiveDecoding({ small, threshold: 3.0, window: 2, minStay: 2 });
    const origins: string[] = [];
    const decoder = createDecoder({ model: large }).use(strategy);
    const prompt = [1, 2, 3, 1, 2];
    const tokens: number[] = [];
    for await (const event of decoder.stream(
      { tokens: prompt },
      { maxTokens: 30, temperature: 0 },
    )) {
      if (event.type === 'token') {
        tokens.push(event.tokenId);
        origins.push(event.origin);
      }
    }
    expect(new Set(origins).size).toBe(2);
    for (let i = 0; i < tokens.length; i++) {
      const model = origins[i] === 'target' ? large : small;
      const next = await run(model, undefined, [...prompt, ...tokens.slice(0, i)], {
        maxTokens: 1,
      });
      expect(next[0], `position ${i}`).toBe(tokens[i]);
    }
  });

  it('validates its options', () => {
    expect(() => entropyAdaptiveDecoding({ small: undefined as never, threshold: 1 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => entropyAdaptiveDecoding({ small, threshold: Number.NaN })).toThrow(
      InvalidArgumentError,
    );
    expect(() => entropyAdaptiveDecoding({ small, threshold: 1, window: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => entropyAdaptiveDecoding({ small, threshold: 1, minStay: 1.5 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => entropyAdaptiveDecoding({ small, threshold: 1, start: 'mid' as never })).toThrow(
      InvalidArgumentError,
    );
  });

  it('rejects a small model with another vocabulary', async () => {
    const other = toyModel({ vocabSize: 8, seed: 1 });
    await expect(
      run(large, entropyAdaptiveDecoding({ small: other, threshold: 1 })),
    ).rejects.toThrow(VocabMismatchError);
  });
});
