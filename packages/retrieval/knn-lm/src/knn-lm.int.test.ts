import { loadModel } from '@decodekit/backend-onnx';
import { createDecoder, wrapModel } from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDatastore } from './datastore.js';
import { knnLm } from './knn-lm.js';
import { exactSearch, hnswSearch } from './neighbor-search.js';
import { sequencePerplexity } from './sequence-perplexity.js';

type Loaded = Awaited<ReturnType<typeof loadModel>>;

describe('kNN-LM on stories260K', () => {
  let model: Loaded;
  let corpus: number[][];
  beforeAll(async () => {
    model = await loadModel('karpathy/tinyllamas/stories260K');
    corpus = [
      'Tom had a red ball. He threw it to his dog Max, and Max ran to get it.',
      'Lily baked a cake with her mom. It was sweet and yummy.',
    ].map(text => model.tokenizer.encode(text));
  });
  afterAll(() => model?.dispose());

  it('stores one (hidden state → next token) pair per predicted token', async () => {
    const datastore = await buildDatastore({ model, sequences: corpus });
    expect(datastore.size).toBe(corpus.reduce((sum, tokens) => sum + tokens.length - 1, 0));
    expect(datastore.dimensions).toBe(model.info.hiddenSize);
    expect(Array.from(datastore.values.slice(0, corpus[0].length - 1))).toEqual(corpus[0].slice(1));
  });

  it('λ = 0 decodes exactly like the model; λ > 0 lowers the perplexity of datastore text', async () => {
    const datastore = await buildDatastore({ model, sequences: corpus });
    const plain = await createDecoder({ model }).generate('Once upon a time', { maxTokens: 24 });
    const off = wrapModel({
      model,
      middleware: knnLm({ datastore, search: exactSearch(datastore), lambda: 0 }),
    });
    expect(
      (await createDecoder({ model: off }).generate('Once upon a time', { maxTokens: 24 })).tokens,
    ).toEqual(plain.tokens);
    const base = await sequencePerplexity(model, corpus);
    for (const search of [exactSearch(datastore), hnswSearch(datastore)]) {
      const wrapped = wrapModel({
        model,
        middleware: knnLm({ datastore, search, lambda: 0.5, k: 4 }),
      });
      const mixed = await sequencePerplexity(wrapped, corpus);
      expect(mixed.tokens).toBe(base.tokens);
      expect(mixed.perplexity).toBeLessThan(base.perplexity * 0.8);
    }
  });
});
