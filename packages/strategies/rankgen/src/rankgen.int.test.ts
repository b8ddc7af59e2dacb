import { createDecoder } from '@decodekit/core';
import { loadReferenceModel, referencePrompts } from '@decodekit/conformance';
import { continuationNll } from '@decodekit/eval';
import { describe, expect, it } from 'vitest';
import { likelihoodScorer, modelScorer, rankgen } from './index.js';

const NUCLEUS = { temperature: 1, topP: 0.9 };

describe('rankgen on stories260K', () => {
  it('beamSize 1, numSamples 1 is token-identical to seeded nucleus sampling on bench prompts', async () => {
    const model = await loadReferenceModel();
    for (const [index, prompt] of referencePrompts(model).slice(0, 8).entries()) {
      const options = { maxTokens: 64, ...NUCLEUS, seed: index + 1 };
      const plain = await createDecoder({ model }).generate({ tokens: prompt.ids }, options);
      const search = rankgen({
        scorer: likelihoodScorer(),
        beamSize: 1,
        numSamples: 1,
        numTokens: 16,
      });
      const result = await createDecoder({ model })
        .use(search)
        .generate({ tokens: prompt.ids }, options);
      expect(result.tokens, prompt.id).toEqual(plain.tokens);
    }
  }, 60_000);

  it('modelScorer(llama2xs) scores the mean log-probability under llama2xs; hypotheses come best first', async () => {
    const model = await loadReferenceModel();
    const { loadModel } = await import('@decodekit/backend-onnx');
    const scorerModel = await loadModel('llama2xs');
    const search = rankgen({
      scorer: modelScorer({ model: scorerModel }),
      beamSize: 2,
      numSamples: 3,
      numTokens: 16,
    });
    const result = await createDecoder({ model })
      .use(search)
      .search('Tom had a red ball.', { maxTokens: 48, ...NUCLEUS, seed: 7 });
    expect(result.details.rounds).toBe(3);
    expect(result.hypotheses).toHaveLength(2);
    expect(result.hypotheses[0].score).toBeGreaterThanOrEqual(result.hypotheses[1].score);
    expect(result.tokens).toEqual(result.hypotheses[0].tokens);
    expect(result.text).toBe(result.hypotheses[0].text);
    for (const hypothesis of result.hypotheses) {
      const { nll, tokens } = await continuationNll(
        scorerModel,
        result.promptTokens,
        hypothesis.tokens,
      );
      expect(hypothesis.score).toBeCloseTo(-nll / tokens, 3);
    }
  }, 60_000);
});
