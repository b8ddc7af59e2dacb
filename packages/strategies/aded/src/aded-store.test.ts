import { ModelFormatError, createTokenizer } from '@decodekit/core';
import { assert, describe, expect, it } from 'vitest';
import {
  AdedStore,
  buildAdedStoreFromTokens,
  deserializeAdedStore,
  serializeAdedStore,
} from './aded-store.js';

describe('AdedStore', () => {
  it('counts tri-grams per document and normalises each bigram (Writer.add_entry + finalize)', () => {
    const store = buildAdedStoreFromTokens([
      [1, 2, 3, 1, 2, 4, 1, 2, 3],
      [9, 1, 2], // no tri-gram spans the two documents
    ]);
    expect(Object.fromEntries(store.successors(1, 2) ?? [])).toEqual({
      3: expect.closeTo(2 / 3, 6),
      4: expect.closeTo(1 / 3, 6),
    });
    expect(Object.fromEntries(store.successors(2, 3) ?? [])).toEqual({ 1: 1 });
    expect(Object.fromEntries(store.successors(9, 1) ?? [])).toEqual({ 2: 1 });
    expect(store.successors(3, 9)).toBeUndefined();
    expect(store.bigrams).toBe(6);
    expect(store.trigrams).toBe(7);
  });

  it('prune keeps the top-k successors of each bigram', () => {
    const store = buildAdedStoreFromTokens([
      [1, 2, 3, 1, 2, 3, 1, 2, 4, 1, 2, 5, 1, 2, 5, 1, 2, 5],
    ]);
    store.prune(2);
    expect([...(store.successors(1, 2)?.keys() ?? [])].sort()).toEqual([3, 5]);
  });

  it('serialises and deserialises to the same store, byte-reproducibly', () => {
    const store = buildAdedStoreFromTokens([[5, 6, 7, 5, 6, 8, 300000, 6, 7]]);
    const bytes = serializeAdedStore(store);
    const back = deserializeAdedStore(bytes);
    expect([...back.table.entries()].map(([key, value]) => [key, [...value].sort()])).toEqual(
      [...store.table.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([key, value]) => [key, [...value].sort()]),
    );
    expect(serializeAdedStore(back)).toEqual(bytes);
  });

  it.each([
    { name: 'too short', bytes: new Uint8Array(4) },
    { name: 'wrong magic', bytes: new Uint8Array(12).fill(7) },
    {
      name: 'truncated',
      bytes: serializeAdedStore(buildAdedStoreFromTokens([[1, 2, 3]])).slice(0, 20),
    },
  ])('rejects a file that is not a store ($name)', ({ bytes }) => {
    let error: unknown;
    try {
      deserializeAdedStore(bytes, 'x.aded');
    } catch (caught) {
      error = caught;
    }
    expect(ModelFormatError.isInstance(error)).toBe(true);
  });

  it('clone is deep', () => {
    const store = buildAdedStoreFromTokens([[1, 2, 3]]);
    const copy = store.clone();
    const copied = copy.successors(1, 2);
    assert(copied, 'the copy has the bigram (1, 2)');
    copied.set(9, 1);
    expect(store.successors(1, 2)?.has(9)).toBe(false);
    expect(new AdedStore().bigrams).toBe(0);
  });

  it('buildAdedStore tokenizes text with the target tokenizer', async () => {
    const { buildAdedStore } = await import('./aded-store.js');
    const tokenizer = {
      vocabSize: 10,
      eosTokenIds: [],
      encode: (text: string) => [...text].map(char => char.charCodeAt(0) - 97),
      decode: () => '',
      idToToken: () => undefined,
      tokenBytes: () => undefined,
      applyChatTemplate: () => '',
    } as unknown as Parameters<typeof buildAdedStore>[0]['tokenizer'];
    const store = buildAdedStore({ corpus: ['abcabd'], tokenizer });
    expect(Object.fromEntries(store.successors(0, 1) ?? [])).toEqual({ 2: 0.5, 3: 0.5 });
    expect(typeof createTokenizer).toBe('function');
  });
});
