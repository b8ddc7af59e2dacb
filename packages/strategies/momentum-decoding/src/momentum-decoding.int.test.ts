import { createDecoder } from '@decodekit/core';
import { loadReferenceModel, referencePrompts } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import { momentumDecoding } from './index.js';

describe('momentumDecoding on stories260K', () => {
  it('α = 0 is token-identical to greedy on every bench prompt', async () => {
    const model = await loadReferenceModel();
    for (const prompt of referencePrompts(model)) {
      const greedy = await createDecoder({ model }).generate(
        { tokens: prompt.ids },
        { maxTokens: 64 },
      );
      const momentum = await createDecoder({ model })
        .use(momentumDecoding({ alpha: 0 }))
        .generate({ tokens: prompt.ids }, { maxTokens: 64 });
      expect(momentum.tokens, prompt.id).toEqual(greedy.tokens);
    }
  }, 120_000);

  it('the default table: no repeated 4-gram in prompt + output, where greedy repeats', async () => {
    const model = await loadReferenceModel();
    let greedyRepeats = 0;
    for (const prompt of referencePrompts(model).slice(0, 10)) {
      const greedy = await createDecoder({ model }).generate(
        { tokens: prompt.ids },
        { maxTokens: 128, ignoreEos: true },
      );
      const momentum = await createDecoder({ model })
        .use(momentumDecoding())
        .generate({ tokens: prompt.ids }, { maxTokens: 128, ignoreEos: true });
      greedyRepeats += repeated4grams([...prompt.ids, ...greedy.tokens]);
      expect(repeated4grams([...prompt.ids, ...momentum.tokens]), prompt.id).toBe(0);
    }
    expect(greedyRepeats).toBeGreaterThan(0);
  }, 120_000);
});

function repeated4grams(tokens: readonly number[]): number {
  const seen = new Set<string>();
  let repeats = 0;
  for (let i = 0; i + 4 <= tokens.length; i++) {
    const gram = tokens.slice(i, i + 4).join();
    if (seen.has(gram)) repeats++;
    seen.add(gram);
  }
  return repeats;
}
