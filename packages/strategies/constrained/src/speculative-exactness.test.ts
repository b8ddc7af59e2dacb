import { createDecoder, mockModel, speculative, type Tokenizer } from '@decodekit/core';
import { chiSquareTest, exactJoint } from '@decodekit/conformance';
import { tokenRecycling } from '@decodekit/strategy-token-recycling';
import { describe, expect, it } from 'vitest';
import { regex } from './index.js';

/** Tokens: 0 = EOS, 1 = "a", 2 = "b", 3 = "ab", 4 = "ba", 5 = "c". */
const pieces = [undefined, 'a', 'b', 'ab', 'ba', 'c'];
const tokenizer: Tokenizer = {
  vocabSize: pieces.length,
  eosTokenIds: [0],
  encode: () => [],
  decode: ids => ids.map(id => pieces[id] ?? '').join(''),
  idToToken: id => pieces[id] ?? '</s>',
  tokenBytes: id => (pieces[id] ? new TextEncoder().encode(pieces[id]) : undefined),
  applyChatTemplate: () => '',
};

function toy() {
  return mockModel({
    vocabSize: pieces.length,
    eosTokenIds: [0],
    logits(context) {
      let h = 2166136261;
      for (const t of context.slice(-3)) h = Math.imul(h ^ (t + 31), 16777619) >>> 0;
      // Favour repeating the token two back so the recycling drafter's drafts get accepted sometimes.
      const twoBack = context[context.length - 2];
      return pieces.map(
        (_, t) =>
          ((Math.imul(h ^ (t * 7919), 2654435761) >>> 0) % 1000) / 300 + (t === twoBack ? 1.5 : 0),
      );
    },
  });
}

describe('constraints under speculative sampling', () => {
  it('token-recycling + regex at T = 1 samples the constrained exact joint (chi-square)', async () => {
    const steps = 4;
    const prompt = [5, 1];
    const model = toy();
    const constraint = regex('(a|b)+(c|cc)', { tokenizer, maxTokens: steps });
    const joint = await exactJoint({
      model,
      prompt,
      steps,
      options: { temperature: 1 },
      processors: [constraint],
    });
    const drafter = tokenRecycling({
      topK: 3,
      template: [[0], [1], [0, 0], [0, 1], [1, 0], [0, 0, 0]],
    });
    // `adaptive: false` (where core has adaptive draft sizing): a wall-clock cost model may cut every draft on a
    // mock model, and this test needs drafts verified. A variable, so it type-checks where the option is absent.
    const speculativeOptions = { drafter, budget: 6, adaptive: false };
    const decoder = createDecoder({ model, tokenizer })
      .use(constraint)
      .use(speculative(speculativeOptions));
    const vocab = pieces.length;
    const counts = Array.from({ length: joint.length }, () => 0);
    const samples = 3000;
    let drafted = 0;
    for (let seed = 0; seed < samples; seed++) {
      const { tokens, stats } = await decoder.generate(
        { tokens: prompt },
        { temperature: 1, seed, maxTokens: steps },
      );
      drafted += stats.acceptedDraftTokens ?? 0;
      // After EOS the constraint allows only EOS, so the exact joint continues with EOS: pad the same way.
      const padded = [...tokens, ...Array.from({ length: steps - tokens.length }, () => 0)];
      expect(tokenizer.decode(tokens)).toMatch(/^[ab]+c{1,2}$/);
      counts[padded.reduce((index, token) => index * vocab + token, 0)] += 1;
    }
    expect(drafted).toBeGreaterThan(0); // speculation actually accepted drafts
    const { pValue } = chiSquareTest(counts, Array.from(joint));
    expect(pValue).toBeGreaterThan(0.001);
  });
});
