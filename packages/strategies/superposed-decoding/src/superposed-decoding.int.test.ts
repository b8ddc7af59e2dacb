import { delimiter } from 'node:path';
import { createDecoder } from '@decodekit/core';
import { loadReferenceModel, readPromptFile, referencePrompts } from '@decodekit/conformance';
import { afterAll, assert, describe, expect, it } from 'vitest';
import { loadStoriesEmbeddingsModel } from '../test-support/onnx-embeddings-model.js';
import { embeddingsModelOf, ngramModel, superposedDecoding, superposedStrategy } from './index.js';

const modelsRoot = (process.env.DECODEKIT_MODELS ?? '').split(delimiter)[0];

describe('superposedDecoding on stories260K (inputs_embeds graph)', async () => {
  const reference = await loadReferenceModel();
  const embeddingsModel = await loadStoriesEmbeddingsModel(modelsRoot, reference.info.eosTokenIds);
  afterAll(() => embeddingsModel.release());

  it("one-hot rows (the tokens' embeddings) reproduce the backend's forward", async () => {
    const ids = reference.tokenizer.encode('Once upon a time, there was a little dog named Max.');
    const dim = embeddingsModel.info.hiddenSize;
    const rows = new Float32Array(ids.length * dim);
    ids.forEach((token, row) =>
      rows.set(embeddingsModel.embeddingTable.subarray(token * dim, (token + 1) * dim), row * dim),
    );
    const logits = await embeddingsModel.createSequence().append(rows);
    const expected = (await reference.createSequence().forward({ tokens: Int32Array.from(ids) }))
      .logits;
    let diff = 0;
    for (let i = 0; i < expected.length; i++)
      diff = Math.max(diff, Math.abs(logits[i] - expected[i]));
    expect(diff).toBeLessThan(1e-4);
  });

  it('k = 1 without n-grams is token-identical to greedy decoding on bench prompts', async () => {
    for (const prompt of referencePrompts(reference).slice(0, 10)) {
      const greedy = await createDecoder({ model: reference }).generate(
        { tokens: prompt.ids },
        { maxTokens: 48 },
      );
      const { drafts, finished } = await superposedDecoding({ numDrafts: 1 }).generate({
        model: embeddingsModel,
        prompt: prompt.ids,
        maxTokens: 48,
      });
      const tokens = greedy.reason === 'eos' ? finished[0].tokens : drafts[0].tokens;
      expect(tokens, prompt.id).toEqual(greedy.tokens);
    }
  }, 60_000);

  it('k = 3 with n-gram interpolation: three distinct drafts, one forward per step', async () => {
    const corpus = readPromptFile('stories').map(entry => reference.tokenizer.encode(entry.prompt));
    const superposed = superposedDecoding({ numDrafts: 3, ngrams: ngramModel(corpus) });
    const { drafts, forwardPasses } = await superposed.generate({
      model: embeddingsModel,
      prompt: reference.tokenizer.encode('Tom had a red ball.'),
      maxTokens: 24,
    });
    expect(forwardPasses).toBe(24);
    expect(drafts).toHaveLength(3);
    expect(new Set(drafts.map(draft => draft.tokens.join())).size).toBe(3);
    expect(drafts.every(draft => draft.tokens.length === 24)).toBe(true);
  });

  describe('on the backend-onnx LoadedModel (forward({ tokens, embeddings }))', () => {
    it('reports inputEmbeddings and the same embedding table as the graph', () => {
      expect(reference.capabilities.inputEmbeddings).toBe(true);
      assert(reference.embeddingTable, 'the onnx backend exposes its embedding table');
      expect(Array.from(reference.embeddingTable())).toEqual(
        Array.from(embeddingsModel.embeddingTable),
      );
    });

    it('k = 3 with n-grams: the same drafts and scores as through the standalone inputs_embeds session', async () => {
      const corpus = readPromptFile('stories').map(entry =>
        reference.tokenizer.encode(entry.prompt),
      );
      const superposed = superposedDecoding({ numDrafts: 3, ngrams: ngramModel(corpus) });
      for (const text of ['Tom had a red ball.', 'Once upon a time, there was a little girl.']) {
        const prompt = reference.tokenizer.encode(text);
        const expected = await superposed.generate({
          model: embeddingsModel,
          prompt,
          maxTokens: 20,
        });
        const actual = await superposed.generate({ model: reference, prompt, maxTokens: 20 });
        expect(actual.drafts.map(draft => draft.tokens)).toEqual(
          expected.drafts.map(draft => draft.tokens),
        );
        expect(actual.finished.map(draft => draft.tokens)).toEqual(
          expected.finished.map(draft => draft.tokens),
        );
        actual.drafts.forEach((draft, d) =>
          expect(draft.score).toBeCloseTo(expected.drafts[d].score, 3),
        );
        expect(actual.forwardPasses).toBe(expected.forwardPasses);
      }
      // embeddingsModelOf is what generate uses for a CausalLM.
      const one = await superposed.generate({
        model: embeddingsModelOf(reference),
        prompt: [1, 403],
        maxTokens: 6,
      });
      expect(one.drafts).toHaveLength(3);
    });

    it('the Strategy with k = 1 and no n-grams streams greedy decoding', async () => {
      const decoder = createDecoder({ model: reference }).use(superposedStrategy({ numDrafts: 1 }));
      for (const prompt of referencePrompts(reference).slice(0, 5)) {
        const greedy = await createDecoder({ model: reference }).generate(
          { tokens: prompt.ids },
          { maxTokens: 32 },
        );
        const result = await decoder.generate({ tokens: prompt.ids }, { maxTokens: 32 });
        expect(result.tokens, prompt.id).toEqual(greedy.tokens);
      }
    });

    it('the Strategy with k = 3 streams the best-scoring draft of the search, one forward per step', async () => {
      const corpus = readPromptFile('stories').map(entry =>
        reference.tokenizer.encode(entry.prompt),
      );
      const options = { numDrafts: 3, ngrams: ngramModel(corpus) };
      const prompt = reference.tokenizer.encode('Lily went to the park.');
      const { drafts, finished } = await superposedDecoding(options).generate({
        model: reference,
        prompt,
        maxTokens: 24,
      });
      const best = [...finished, ...drafts].sort((a, b) => b.score - a.score)[0];
      const result = await createDecoder({ model: reference })
        .use(superposedStrategy(options))
        .generate({ tokens: prompt }, { maxTokens: 24 });
      expect(result.tokens).toEqual(best.tokens);
      // The decoder's prompt prefill, then one forward per step for all k drafts.
      expect(result.stats.forwardPasses).toBeLessThanOrEqual(result.tokens.length + 1);
    });
  });
});
