import { chain, createDecoder, mockModel, seededRandom } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { byteTokenizer } from './__fixtures__/byte-tokenizer.js';
import { jsonSchema, type ConstraintProcessor, type ConstraintState } from './index.js';

const bytes = byteTokenizer(['{"', '":', '","', 'true', 'ab', 'abc']);
const schema = {
  type: 'object',
  properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'number' } } },
  required: ['name', 'tags'],
};

/** A random walk through the allowed tokens, started with the budget the decoder would pass to `init`. */
function walk(
  processor: ConstraintProcessor,
  seed: number,
  budget: number | undefined,
): { text: string; tokens: number } {
  const random = seededRandom(seed);
  // Through chain(), as the decoder builds it: the budget must reach the constraint inside the chain.
  const chained = chain(processor);
  let state = chained.init([], budget === undefined ? undefined : { maxTokens: budget });
  const ids: number[] = [];
  for (let step = 0; step < 400; step++) {
    const allowed = processor.allowedTokens((state as readonly ConstraintState[])[0]);
    if (allowed.includes(0) && (allowed.length === 1 || random.next() < 0.05)) break;
    const choices = allowed.filter(id => id !== 0);
    const token = choices[Math.floor(random.next() * choices.length)];
    ids.push(token);
    state = chained.advance(state, token);
  }
  return { text: bytes.decode(ids), tokens: ids.length };
}

describe('the generation budget reaches constraints through LogitsProcessor.init', () => {
  const processor = jsonSchema(schema, { tokenizer: bytes });
  const minimal = processor.minimalTokens;

  it('closes the structure within the budget the decoder passes, without maxTokens in the constraint', () => {
    for (const budget of [minimal, minimal + 3, minimal + 20]) {
      for (let seed = 0; seed < 30; seed++) {
        const { text, tokens } = walk(processor, seed, budget);
        expect(tokens).toBeLessThanOrEqual(budget);
        expect(JSON.parse(text)).toMatchObject({
          name: expect.any(String),
          tags: expect.any(Array),
        });
      }
    }
  });

  it('stays unbudgeted without a budget, or when a complete output cannot fit in it', () => {
    for (const budget of [undefined, minimal - 1]) {
      const lengths = Array.from({ length: 30 }, (_, seed) => walk(processor, seed, budget).tokens);
      expect(Math.max(...lengths)).toBeGreaterThan(minimal + 20);
    }
  });

  it('an explicit maxTokens wins over the generation budget', () => {
    const explicit = jsonSchema(schema, { tokenizer: bytes, maxTokens: minimal + 2 });
    for (let seed = 0; seed < 20; seed++)
      expect(walk(explicit, seed, 1000).tokens).toBeLessThanOrEqual(minimal + 2);
  });

  it('createDecoder passes maxTokens (cut to the context) to init', async () => {
    const seen: (number | undefined)[] = [];
    const model = mockModel({
      vocabSize: 4,
      contextLength: 20,
      logits: () => Float32Array.of(0, 1, 2, 3),
    });
    const probe = {
      name: 'probe',
      init: (_: readonly number[], context?: { maxTokens?: number }) =>
        void seen.push(context?.maxTokens),
      advance: () => undefined,
      process: () => undefined,
    };
    await createDecoder({ model, processors: [probe] }).generate(
      { tokens: [1, 2] },
      { maxTokens: 5 },
    );
    await createDecoder({ model, processors: [probe] }).generate(
      { tokens: [1, 2] },
      { maxTokens: 100 },
    );
    expect(seen).toEqual([5, 18]);
  });
});
