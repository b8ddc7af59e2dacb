import { createDecoder, type Strategy } from '@decodekit/core';
import { loadReferenceModel, readPromptFile } from '@decodekit/conformance';
import { beamSearch } from '@decodekit/strategy-beam-search';
import { describe, expect, it } from 'vitest';
import { diverseBeamSearch } from './index.js';

describe('diverseBeamSearch on stories260K', () => {
  it('G = 1 equals beam search on bench prompts; G = 4 returns distinct hypotheses', async () => {
    const model = await loadReferenceModel();
    for (const entry of readPromptFile('stories').slice(0, 5)) {
      const search = (strategy: Strategy) =>
        createDecoder({ model }).use(strategy).search(entry.prompt, { maxTokens: 48 });
      const plain = await search(beamSearch({ numBeams: 4, numReturnSequences: 4 }));
      const single = await search(
        diverseBeamSearch({ numBeams: 4, numGroups: 1, numReturnSequences: 4 }),
      );
      expect(
        single.hypotheses.map(h => h.tokens),
        entry.id,
      ).toEqual(plain.hypotheses.map(h => h.tokens));
      const diverse = await search(
        diverseBeamSearch({
          numBeams: 4,
          numGroups: 4,
          diversityPenalty: 1,
          numReturnSequences: 4,
        }),
      );
      expect(new Set(diverse.hypotheses.map(h => h.tokens.join())).size).toBe(4);
    }
  }, 120_000);
});
