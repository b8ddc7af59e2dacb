import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  mockModel,
  type CausalLM,
  type Tokenizer,
} from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import {
  binaryCode,
  causalLmEmbedder,
  denseIndex,
  hammingDistance,
  l2Normalize,
  memoryDenseStore,
  poolHidden,
} from './index.js';
import { runDenseStoreConformance } from './dense-store-conformance.js';

describe('poolHidden', () => {
  const hidden = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]); // 3 rows of width 3
  it('pools mean / first / last over rows from fromRow', () => {
    expect(Array.from(poolHidden(hidden, 3, 'mean'))).toEqual([4, 5, 6]);
    expect(Array.from(poolHidden(hidden, 3, 'mean', 1))).toEqual([5.5, 6.5, 7.5]);
    expect(Array.from(poolHidden(hidden, 3, 'first', 1))).toEqual([4, 5, 6]);
    expect(Array.from(poolHidden(hidden, 3, 'last'))).toEqual([7, 8, 9]);
  });
  it('rejects bad shapes and rows', () => {
    expect(() => poolHidden(hidden, 4, 'mean')).toThrow(InvalidArgumentError);
    expect(() => poolHidden(hidden, 3, 'mean', 3)).toThrow(InvalidArgumentError);
    expect(() => poolHidden(hidden, 3, 'max' as never)).toThrow(InvalidArgumentError);
  });
  it('l2Normalize gives unit vectors and keeps zero', () => {
    expect(Array.from(l2Normalize(Float32Array.from([3, 4])))).toEqual([
      expect.closeTo(0.6),
      expect.closeTo(0.8),
    ]);
    expect(Array.from(l2Normalize(new Float32Array(2)))).toEqual([0, 0]);
  });
});

describe('binary codes', () => {
  it('packs sign bits and counts differing bits across words', () => {
    const values = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : -1));
    const code = binaryCode(Float32Array.from(values));
    expect(code.length).toBe(2);
    for (let i = 0; i < 40; i++)
      expect(((code[i >>> 5] >>> (i & 31)) & 1) === 1).toBe(values[i] > 0);
    const flipped = Float32Array.from(
      values.map((v, i) => (i === 0 || i === 31 || i === 39 ? -v : v)),
    );
    expect(hammingDistance(code, binaryCode(flipped))).toBe(3);
    expect(hammingDistance(code, code)).toBe(0);
    expect(() => hammingDistance(code, new Uint32Array(1))).toThrow(InvalidArgumentError);
  });
});

runDenseStoreConformance({ name: 'memory', open: async () => memoryDenseStore() });

/** A fake CausalLM whose hidden row for token t is a fixed vector, so pooled embeddings are predictable. */
function hiddenModel(width: number): CausalLM {
  const base = mockModel({ vocabSize: 8, logits: () => new Float32Array(8) });
  const row = (token: number): number[] =>
    Array.from({ length: width }, (_, j) => (j === token % width ? 1 : 0) + (token === 7 ? 5 : 0));
  return {
    info: { ...base.info, hiddenSize: width, contextLength: 16 },
    capabilities: { ...base.capabilities, hiddenStates: true },
    createSequence() {
      const sequence = base.createSequence();
      return {
        get tokens() {
          return sequence.tokens;
        },
        async forward(input, options) {
          const out = await sequence.forward({ tokens: input.tokens }, options);
          return {
            ...out,
            hidden: input.hidden
              ? Float32Array.from(Array.from(input.tokens).flatMap(row))
              : undefined,
          };
        },
        commit: rows => sequence.commit(rows),
        truncate: length => sequence.truncate(length),
        fork: () => sequence.fork(),
        dispose: () => sequence.dispose(),
      };
    },
    dispose: () => base.dispose(),
  } as CausalLM;
}

const tokenizer = {
  bosTokenId: 7,
  encode: (text: string) => Array.from(text, ch => Number(ch)),
} as unknown as Tokenizer;

describe('causalLmEmbedder + denseIndex', () => {
  it('pools the text rows (never the BOS row), echo pools the second copy, and normalises', async () => {
    const model = hiddenModel(4);
    const mean = await causalLmEmbedder({ model, tokenizer }).embed('0012');
    expect(Array.from(mean)).toEqual([
      expect.closeTo(2 / Math.sqrt(6)),
      expect.closeTo(1 / Math.sqrt(6)),
      expect.closeTo(1 / Math.sqrt(6)),
      0,
    ]);
    expect(
      Array.from(await causalLmEmbedder({ model, tokenizer, pooling: 'last' }).embed('0012')),
    ).toEqual([0, 0, 1, 0]);
    expect(
      Array.from(await causalLmEmbedder({ model, tokenizer, pooling: 'first' }).embed('30')),
    ).toEqual([0, 0, 0, 1]);
    expect(
      Array.from(await causalLmEmbedder({ model, tokenizer, echo: true }).embed('0012')),
    ).toEqual(Array.from(mean));
  });

  it('indexes and searches with every scoring; returns the retriever shape', async () => {
    const index = denseIndex({
      store: memoryDenseStore(),
      embedder: causalLmEmbedder({ model: hiddenModel(4), tokenizer }),
      candidates: 2,
    });
    await index.add([
      { id: 'x', text: '000' },
      { id: 'y', text: '111', metadata: { n: 1 } },
      { id: 'z', text: '2223' },
    ]);
    for (const scoring of ['cosine', 'hamming', 'hamming-rerank'] as const) {
      const hits = await index.asRetriever(scoring).search('11', 2);
      expect(hits[0]).toMatchObject({ id: 'y', text: '111', metadata: { n: 1 } });
      expect(typeof hits[0].score).toBe('number');
    }
    expect((await index.search('2', 1))[0].score).toBeCloseTo(3 / Math.sqrt(10), 5);
  });

  it('validates options and needs hidden states', () => {
    const model = hiddenModel(4);
    expect(() => causalLmEmbedder({ model, tokenizer, pooling: 'max' as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      causalLmEmbedder({
        model: mockModel({ vocabSize: 4, logits: () => new Float32Array(4) }),
        tokenizer,
      }),
    ).toThrow(UnsupportedCapabilityError);
    expect(() =>
      denseIndex({
        store: memoryDenseStore(),
        embedder: causalLmEmbedder({ model, tokenizer }),
        candidates: 0,
      }),
    ).toThrow(InvalidArgumentError);
  });
});
