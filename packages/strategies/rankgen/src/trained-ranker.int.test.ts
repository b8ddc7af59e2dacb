import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDecoder, ModelFormatError, type LoadedModel } from '@decodekit/core';
import { loadModel } from '@decodekit/backend-onnx';
import { loadReferenceModel } from '@decodekit/conformance';
import { describe, expect, it } from 'vitest';
import {
  project,
  rankerFeatures,
  rankerWeightsFromJSON,
  rankerWeightsToJSON,
  trainedRankerScorer,
} from './index.js';

const fixture = JSON.parse(
  readFileSync(resolve(__dirname, '__fixtures__/stories260K-ranker.json'), 'utf8'),
) as unknown;

describe('the trained RankGen ranker', () => {
  it('reads and writes its weights, and refuses other files', () => {
    const weights = rankerWeightsFromJSON(fixture);
    expect(weights.dim).toBe(32);
    expect(rankerWeightsFromJSON(rankerWeightsToJSON(weights))).toEqual(weights);
    expect(() => rankerWeightsFromJSON({ format: 'other' }, 'x.json')).toThrow(ModelFormatError);
    expect(() =>
      rankerWeightsFromJSON({ ...rankerWeightsToJSON(weights), dim: 31 }, 'x.json'),
    ).toThrow(/= 3968 floats \(got 4096 and 4096\)/);
  });

  it("scores as P·f(prefix) · S·f(candidate), and ranks unseen gold continuations above llama2xs's", async () => {
    const model = await loadReferenceModel();
    const llama2xs: LoadedModel = await loadModel('llama2xs');
    const weights = rankerWeightsFromJSON(fixture);
    const scorer = trainedRankerScorer({ weights });
    const bos = model.tokenizer.encode('');
    let wins = 0;
    let pairs = 0;
    // Documents from seeds the training script never used (it used 0..~700): same recipe as training.
    for (let seed = 50_000; seed < 50_016; seed++) {
      const { tokens } = await createDecoder({ model }).generate(
        { tokens: bos },
        { maxTokens: 64, temperature: 0.5, seed },
      );
      if (tokens.length < 64) continue;
      const prompt = [...bos, ...tokens.slice(0, 32)];
      const candidates = [tokens.slice(32)];
      for (const offset of [0, 1]) {
        const sample = await createDecoder({ model: llama2xs }).generate(
          { tokens: prompt },
          { maxTokens: 32, temperature: 1, topP: 0.9, seed: 70_000 + 2 * seed + offset },
        );
        candidates.push(sample.tokens);
      }
      const scores = await scorer.score({
        model,
        prompt,
        promptText: '',
        candidates: candidates.map(ids => ({ tokens: ids, text: '', finished: false })),
      });
      const prefixEmbedding = project(
        weights.prefix,
        await rankerFeatures(model, prompt.slice(1)),
        weights.dim,
      );
      const goldEmbedding = project(
        weights.suffix,
        await rankerFeatures(model, candidates[0]),
        weights.dim,
      );
      const manual = prefixEmbedding.reduce((sum, v, d) => sum + v * goldEmbedding[d], 0);
      expect(scores[0]).toBeCloseTo(manual, 4);
      for (const k of [1, 2]) {
        pairs++;
        if (scores[0] > scores[k]) wins++;
      }
    }
    scorer.end?.();
    await llama2xs.dispose();
    expect(pairs).toBeGreaterThanOrEqual(24);
    // Held-out accuracy in the training script: 71.9 % on 256 pairs; chance is 50 %.
    expect(wins / pairs).toBeGreaterThan(0.6);
  }, 120_000);
});
