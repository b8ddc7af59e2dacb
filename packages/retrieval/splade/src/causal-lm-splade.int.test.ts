import { loadModel } from '@decodekit/backend-onnx';
import { InvalidArgumentError, type CausalLM } from '@decodekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causalLmSplade } from './causal-lm-splade.js';
import { memorySparseStore } from './memory-sparse-store.js';
import { sparseIndex } from './sparse-index.js';
import { spladeMaxPool } from './splade-pooling.js';

type Loaded = Awaited<ReturnType<typeof loadModel>>;

describe('causalLmSplade on stories260K (Mistral-SPLADE decoder mode)', () => {
  let model: Loaded;
  beforeAll(async () => {
    model = await loadModel('karpathy/tinyllamas/stories260K');
  });
  afterAll(() => model?.dispose());

  it('pools the logits of every row of one forward; echo pools the second copy only', async () => {
    const text = 'Lily saw a big red ball in the park.';
    const ids = model.tokenizer.encode(text, { addSpecialTokens: false });
    const bos = model.tokenizer.bosTokenId;
    const prefix = bos === undefined ? [] : [bos];
    const sequence = model.createSequence();
    const { logits } = await sequence.forward({
      tokens: Int32Array.from([...prefix, ...ids, ...ids]),
    });
    sequence.dispose();
    const vocab = model.info.vocabSize;
    const expected = spladeMaxPool(logits, vocab, { fromRow: prefix.length + ids.length });
    const vector = await causalLmSplade({ model, tokenizer: model.tokenizer, topK: 0 }).encode(
      text,
    );
    expect(vector.terms.length).toBe(expected.filter(value => value > 0).length);
    vector.terms.forEach((term, i) => expect(vector.weights[i]).toBeCloseTo(expected[term], 4));
    // Without echo the first copy's rows are pooled, which gives a different vector.
    const plain = await causalLmSplade({
      model,
      tokenizer: model.tokenizer,
      topK: 0,
      echo: false,
    }).encode(text);
    expect(Array.from(plain.weights)).not.toEqual(Array.from(vector.weights));
  });

  it('prunes to topK and cuts texts longer than the context', async () => {
    const encoder = causalLmSplade({ model, tokenizer: model.tokenizer, topK: 16 });
    const vector = await encoder.encode('Tom ran. '.repeat(400));
    expect(vector.terms.length).toBe(16);
    expect(() => causalLmSplade({ model, tokenizer: model.tokenizer, topK: -1 })).toThrow(
      InvalidArgumentError,
    );
  });

  it('retrieves a document by its own text through a sparse index', async () => {
    const index = sparseIndex({
      store: memorySparseStore(),
      encoder: causalLmSplade({ model: model as CausalLM, tokenizer: model.tokenizer, topK: 64 }),
    });
    const texts = [
      'The dog ran to the park.',
      'A bird sang in a tree.',
      'Sue baked a cake with her mom.',
    ];
    await index.add(texts.map((text, i) => ({ id: `d${i}`, text })));
    const hits = await index.asRetriever('splade').search('Sue baked a cake with her mom.', 3);
    expect(hits[0]).toMatchObject({ id: 'd2', text: texts[2] });
    expect(hits.every(hit => typeof hit.score === 'number')).toBe(true);
  });
});
