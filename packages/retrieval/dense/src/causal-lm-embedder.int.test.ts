import { loadModel } from '@decodekit/backend-onnx';
import { assert, afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  causalLmEmbedder,
  denseIndex,
  l2Normalize,
  memoryDenseStore,
  poolHidden,
} from './index.js';

type Loaded = Awaited<ReturnType<typeof loadModel>>;

describe('causalLmEmbedder on stories260K', () => {
  let model: Loaded;
  beforeAll(async () => {
    model = await loadModel('karpathy/tinyllamas/stories260K');
  });
  afterAll(() => model?.dispose());

  it('pools the hidden states of one forward (BOS row left out) into a unit vector', async () => {
    const text = 'Lily saw a big red ball in the park.';
    const ids = model.tokenizer.encode(text, { addSpecialTokens: false });
    const bos = model.tokenizer.bosTokenId;
    assert(bos !== undefined, 'stories260K has a BOS token');
    const sequence = model.createSequence();
    const { hidden } = await sequence.forward({
      tokens: Int32Array.from([bos, ...ids]),
      hidden: true,
    });
    sequence.dispose();
    const width = model.info.hiddenSize;
    assert(hidden, 'forward({ hidden: true }) returns hidden states');
    for (const pooling of ['mean', 'last', 'first'] as const) {
      const expected = l2Normalize(poolHidden(hidden, width, pooling, 1));
      const vector = await causalLmEmbedder({ model, tokenizer: model.tokenizer, pooling }).embed(
        text,
      );
      expect(vector.length).toBe(width);
      vector.forEach((value, j) => expect(value).toBeCloseTo(expected[j], 4));
      expect(Math.hypot(...vector)).toBeCloseTo(1, 4);
    }
  });

  it('finds a document by its own text with cosine and binary codes', async () => {
    const texts = [
      'The dog ran to the park.',
      'A bird sang in a tree.',
      'Sue baked a cake with her mom.',
      'Tom fell and cried.',
    ];
    const index = denseIndex({
      store: memoryDenseStore(),
      embedder: causalLmEmbedder({ model, tokenizer: model.tokenizer }),
    });
    await index.add(texts.map((text, i) => ({ id: `d${i}`, text })));
    for (const scoring of ['cosine', 'hamming', 'hamming-rerank'] as const) {
      const hits = await index.search(texts[2], 4, { scoring });
      expect(hits[0]).toMatchObject({ id: 'd2', text: texts[2] });
    }
    expect((await index.search(texts[2], 1))[0].score).toBeCloseTo(1, 4);
  });
});
