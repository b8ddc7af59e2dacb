import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { mockModel } from '../testing/mock-model.js';
import type { Strategy } from '../strategy.js';
import { createTokenizer } from '../tokenizer/create-tokenizer.js';
import {
  tinyLlamaTokenizerConfig,
  tinyLlamaTokenizerJson,
} from '../tokenizer/__fixtures__/tiny-llama-tokenizer.js';
import { createDecoder } from './create-decoder.js';

const tokenizer = createTokenizer({
  tokenizerJson: tinyLlamaTokenizerJson(),
  tokenizerConfig: tinyLlamaTokenizerConfig(),
});
/** Every context prefers the same token, so the plain output is known. */
const model = mockModel({
  vocabSize: tokenizer.vocabSize,
  logits: () => Array.from({ length: tokenizer.vocabSize }, (_, id) => (id === 5 ? 2 : 0)),
});
const ids = (text: string) => tokenizer.encode(text, { addSpecialTokens: false });

/** A search strategy that reports fixed hypotheses and emits the best one. */
function fixedSearch(
  hypotheses: { tokens: number[]; score: number; tokenLogProbabilities?: number[] }[],
): Strategy {
  return {
    kind: 'strategy',
    name: 'fixed-search',
    lossless: false,
    async run(context) {
      context.reportSearch({ hypotheses: [{ tokens: [9], score: 0 }] }); // replaced below
      context.reportSearch({ hypotheses, details: { rounds: 2, mode: 'test' } });
      for (const token of hypotheses[0].tokens) if (!context.emit(token, 'target')) return;
    },
  };
}

describe('decoder.search', () => {
  it('returns the reported hypotheses best first, with their text after the prompt and log-probabilities', async () => {
    const strategy = fixedSearch([
      { tokens: ids('the cat'), score: -0.5, tokenLogProbabilities: [-0.25, -0.75] },
      { tokens: ids('sat'), score: -1 },
    ]);
    const result = await createDecoder({ model, tokenizer })
      .use(strategy)
      .search('the', { maxTokens: 8 });
    expect(result.hypotheses.map(hypothesis => hypothesis.text)).toEqual([' the cat', ' sat']);
    expect(result.hypotheses[0]).toMatchObject({
      tokens: ids('the cat'),
      score: -0.5,
      logProbability: -1,
      tokenLogProbabilities: [-0.25, -0.75],
    });
    expect(result.hypotheses[1].logProbability).toBeUndefined();
    expect(result.details).toEqual({ rounds: 2, mode: 'test' });
    // The streamed output is the best hypothesis, as generate() returns it.
    expect(result.tokens).toEqual(ids('the cat'));
    expect(result.text).toBe(' the cat');
    const generated = await createDecoder({ model, tokenizer })
      .use(strategy)
      .generate('the', { maxTokens: 8 });
    expect(generated.tokens).toEqual(result.tokens);
  });

  it('a strategy that is not a search gives its one output, with score NaN', async () => {
    const result = await createDecoder({ model, tokenizer }).search(
      { tokens: [1] },
      { maxTokens: 3 },
    );
    expect(result.tokens).toEqual([5, 5, 5]);
    expect(result.hypotheses).toHaveLength(1);
    expect(result.hypotheses[0].tokens).toEqual([5, 5, 5]);
    expect(result.hypotheses[0].text).toBe(result.text);
    expect(result.hypotheses[0].score).toBeNaN();
    expect(result.details).toEqual({});
  });

  it('validates like generate', async () => {
    await expect(
      createDecoder({ model, tokenizer }).search({ tokens: [] }, { maxTokens: 3 }),
    ).rejects.toThrow(InvalidArgumentError);
  });
});
