import {
  createDecoder,
  logSoftmax,
  repetitionPenalty,
  type CausalLM,
  type SearchHypothesis,
} from '@decodekit/core';
import { loadReferenceModel, readPromptFile } from '@decodekit/conformance';
import { assert, describe, expect, it } from 'vitest';
import { beamSearch } from './index.js';

/**
 * The exact `count` most likely `horizon`-token continuations (EOS ignored), by best-first search: every
 * step's log-probability is ≤ 0, so a prefix's score bounds all its continuations, and complete
 * sequences leave the queue in exact order (Dijkstra / uniform-cost search). Expands only what could win.
 */
async function exactTop(model: CausalLM, prompt: number[], horizon: number, count: number) {
  const vocab = model.info.vocabSize;
  const queue: { tokens: number[]; score: number }[] = [{ tokens: [], score: 0 }];
  const found: { tokens: number[]; score: number }[] = [];
  let expansions = 0;
  while (found.length < count) {
    queue.sort((a, b) => b.score - a.score);
    const node = queue.shift();
    assert(node, 'the search space holds enough sequences');
    if (node.tokens.length === horizon) {
      found.push(node);
      continue;
    }
    const sequence = model.createSequence();
    const context = [...prompt, ...node.tokens];
    const { logits } = await sequence.forward({ tokens: Int32Array.from(context) });
    sequence.dispose();
    expansions += 1;
    const row = logSoftmax(logits.slice((context.length - 1) * vocab, context.length * vocab));
    row.forEach((value, token) =>
      queue.push({ tokens: [...node.tokens, token], score: node.score + value }),
    );
  }
  return { found, expansions };
}

describe('beamSearch on stories260K', () => {
  it('horizon 3: the top 4 hypotheses of 16 beams are the exact top 4 (best-first search) for 8 bench prompts', async () => {
    const model = await loadReferenceModel();
    const prompts = readPromptFile('stories').slice(0, 8);
    for (const entry of prompts) {
      const prompt = model.tokenizer.encode(entry.prompt);
      const { found } = await exactTop(model, prompt, 3, 4);
      const { hypotheses } = await beamSearch({
        numBeams: 16,
        numReturnSequences: 4,
        lengthPenalty: 0,
      }).generate({
        model,
        prompt: { tokens: prompt },
        maxTokens: 3,
        eosTokenIds: [],
      });
      expect(
        hypotheses.map(h => h.tokens),
        entry.id,
      ).toEqual(found.map(f => f.tokens));
      hypotheses.forEach((h, i) => expect(h.logProbability).toBeCloseTo(found[i].score, 3));
    }
  }, 120_000);

  it('tree, per-beam and auto forwards give the same hypotheses (EOS, processors, length penalty)', async () => {
    const model = await loadReferenceModel();
    for (const entry of readPromptFile('stories').slice(0, 4)) {
      const results: SearchHypothesis[][] = [];
      for (const forwardMode of ['tree', 'per-beam', 'auto'] as const) {
        const { hypotheses } = await createDecoder({ model })
          .use(repetitionPenalty(1.2))
          .use(beamSearch({ numBeams: 4, numReturnSequences: 4, forwardMode, lengthPenalty: 1.2 }))
          .search(entry.prompt, { maxTokens: 40 });
        results.push(hypotheses);
      }
      expect(
        results[1].map(h => h.tokens),
        entry.id,
      ).toEqual(results[0].map(h => h.tokens));
      expect(
        results[2].map(h => h.tokens),
        entry.id,
      ).toEqual(results[0].map(h => h.tokens));
      results[1].forEach((h, i) => expect(h.score).toBeCloseTo(results[0][i].score, 3));
    }
  }, 120_000);
});
