import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Tokenizer } from '../types.js';
import { tinyByteLevelTokenizerJson } from './__fixtures__/tiny-byte-level-tokenizer.js';
import {
  BYTE_BASE,
  SEP_ID,
  TINY_VOCAB,
  tinyLlamaTokenizerConfig,
  tinyLlamaTokenizerJson,
} from './__fixtures__/tiny-llama-tokenizer.js';
import { createTokenizer } from './create-tokenizer.js';
import { createIncrementalDecoder } from './incremental-decoder.js';

const id = (token: string) => TINY_VOCAB.indexOf(token);
const bytesOf = (text: string) => [...new TextEncoder().encode(text)].map(byte => BYTE_BASE + byte);

function deltas(tokenizer: Tokenizer, ids: readonly number[], skipSpecialTokens = true): string[] {
  const decoder = createIncrementalDecoder(tokenizer, { skipSpecialTokens });
  return [...ids.map(tokenId => decoder.push(tokenId)), decoder.flush()];
}

const llama = createTokenizer({
  tokenizerJson: tinyLlamaTokenizerJson(),
  tokenizerConfig: tinyLlamaTokenizerConfig(),
});
const llamaCleaning = createTokenizer({
  tokenizerJson: tinyLlamaTokenizerJson(),
  tokenizerConfig: tinyLlamaTokenizerConfig({ clean_up_tokenization_spaces: true }),
});
const metaspace = createTokenizer({
  tokenizerJson: {
    ...tinyLlamaTokenizerJson(),
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always' },
  },
});
const wordPiece = createTokenizer({
  tokenizerJson: { ...tinyLlamaTokenizerJson(), decoder: { type: 'WordPiece', prefix: '##' } },
});
const byteLevel = createTokenizer({ tokenizerJson: tinyByteLevelTokenizerJson() });

describe('createIncrementalDecoder', () => {
  it('never splits a character: byte-fallback bytes wait until it is complete', () => {
    expect(deltas(llama, [id('▁'), ...bytesOf('😀'), id('▁cat')])).toEqual([
      '',
      '',
      '',
      '',
      '😀',
      ' cat',
      '',
    ]);
  });

  it('strips the SentencePiece dummy-prefix space once, at the start of the text', () => {
    expect(deltas(llama, [1, id('▁the'), id('▁cat')])).toEqual(['', 'the', ' cat', '']);
    expect(deltas(llama, [1, id('▁the')], false)).toEqual(['<s>', ' the', '']);
    expect(deltas(llama, [id('▁▁'), id('a')])).toEqual([' ', 'a', '']);
  });

  it('a skipped special token does not end a byte run, a kept one does', () => {
    const ids = [BYTE_BASE + 0xe4, 2, BYTE_BASE + 0xb8, BYTE_BASE + 0x96];
    expect(deltas(llama, ids).join('')).toBe('世');
    expect(deltas(llama, ids, false).join('')).toBe(
      llama.decode(ids, { skipSpecialTokens: false }),
    );
    expect(deltas(llama, ids, false).join('')).toBe('\uFFFD</s>\uFFFD\uFFFD'); // B8 96 alone: two invalid bytes
  });

  it('flushes an incomplete character as U+FFFD, as decode does', () => {
    expect(deltas(llama, [id('▁a'), BYTE_BASE + 0xe4, BYTE_BASE + 0xb8])).toEqual([
      'a',
      '',
      '',
      '\uFFFD',
    ]);
  });

  it('holds back only what a clean-up rule could still change', () => {
    const ids = [id('▁c'), id('a'), id('t'), id('▁'), id('.'), id('▁'), id("n't")];
    expect(deltas(llamaCleaning, ids).join('')).toBe(llamaCleaning.decode(ids));
    expect(deltas(llamaCleaning, [id('▁cat'), id('▁'), id('.')])).toEqual(['cat', '', '', '.']);
  });

  const llamaIds = fc
    .array(
      fc
        .oneof(
          fc.integer({ min: 0, max: SEP_ID }),
          fc.integer({ min: 0, max: SEP_ID }),
          fc.string({ unit: 'grapheme', maxLength: 3 }).map(bytesOf),
          fc.constantFrom('😀', '世界', 'é', '\uFEFF', '日本語', '𝄞').map(bytesOf),
          fc
            .constantFrom("n't", "'s", '.', ',', '!', '?', "'", '▁', '▁▁', 'n', '▁a', '▁the')
            .map(token => [id(token)]),
          fc
            .string({ unit: 'grapheme-composite', maxLength: 6 })
            .map(text => llama.encode(text, { addSpecialTokens: false })),
        )
        .map(value => (Array.isArray(value) ? value : [value])),
      { maxLength: 24 },
    )
    .map(chunks => chunks.flat());

  test.prop([llamaIds, fc.boolean()], { numRuns: 400 })(
    'SentencePiece: concatenated deltas + flush equal decode(allIds)',
    (ids, skipSpecialTokens) => {
      for (const tokenizer of [llama, llamaCleaning, metaspace, wordPiece]) {
        expect(deltas(tokenizer, ids, skipSpecialTokens).join('')).toBe(
          tokenizer.decode(ids, { skipSpecialTokens }),
        );
      }
    },
  );

  test.prop([llamaIds], { numRuns: 200 })(
    'SentencePiece: no delta ends inside a character',
    ids => {
      for (const delta of deltas(llama, ids)) {
        if (delta.length > 0) expect(delta.charCodeAt(delta.length - 1) & 0xfc00).not.toBe(0xd800);
        expect(() => encodeURIComponent(delta)).not.toThrow(); // no lone surrogates
      }
    },
  );

  test.prop(
    [
      fc
        .array(
          fc
            .oneof(
              fc.integer({ min: 0, max: byteLevel.vocabSize - 1 }),
              fc
                .string({ unit: 'grapheme-composite', maxLength: 6 })
                .map(text => byteLevel.encode(text)),
            )
            .map(value => (Array.isArray(value) ? value : [value])),
          { maxLength: 20 },
        )
        .map(chunks => chunks.flat()),
      fc.boolean(),
    ],
    { numRuns: 300 },
  )(
    'byte-level BPE: concatenated deltas + flush equal decode(allIds)',
    (ids, skipSpecialTokens) => {
      expect(deltas(byteLevel, ids, skipSpecialTokens).join('')).toBe(
        byteLevel.decode(ids, { skipSpecialTokens }),
      );
    },
  );

  it('byte-level: bytes map back through the GPT-2 table', () => {
    const ids = byteLevel.encode(' the 世界');
    expect(
      ids.map(tokenId => byteLevel.tokenBytes(tokenId)?.length ?? 0).reduce((a, b) => a + b, 0),
    ).toBe(new TextEncoder().encode(' the 世界').length);
    expect(deltas(byteLevel, ids).join('')).toBe(' the 世界');
  });

  it('decodes a foreign Tokenizer from tokenBytes', () => {
    const bytes: Record<number, number[]> = { 0: [0xe4], 1: [0xb8, 0x96], 2: [0x21] };
    const mock: Tokenizer = {
      vocabSize: 4,
      eosTokenIds: [3],
      encode: () => [],
      decode: () => '',
      idToToken: tokenId => (tokenId === 3 ? '</s>' : String(tokenId)),
      tokenBytes: tokenId => (bytes[tokenId] ? Uint8Array.from(bytes[tokenId]) : undefined),
      applyChatTemplate: () => '',
    };
    expect(deltas(mock, [0, 1, 2, 3])).toEqual(['', '世', '!', '', '']);
    expect(deltas(mock, [0, 1, 3], false)).toEqual(['', '世', '</s>', '']);
  });
});
