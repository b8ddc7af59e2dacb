import { assert, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from '@decodekit/core';
import { type Llama2cTokenizer, readLlama2cTokenizer } from './llama2c.js';
import { golden, modelBytes } from './ort-test-utils.js';
import {
  llama2cTokenizerConfig,
  llama2cTokenizerJson,
  mergesFromScores,
} from './tokenizer-json.js';

const tok512 = readLlama2cTokenizer(modelBytes('karpathy/tinyllamas/stories260K/tok512.bin'));
const tokenizer = new Tokenizer(llama2cTokenizerJson(tok512), llama2cTokenizerConfig(512));

/** llama2.c's run.c `encode` (BOS, dummy prefix, byte fallback, highest-score merge first), for comparison. */
function referenceEncode(tok: Llama2cTokenizer, text: string): number[] {
  const decoder = new TextDecoder();
  const pieces = tok.tokens.map(t => decoder.decode(t.bytes));
  const lookup = new Map<string, number>();
  pieces.forEach((piece, id) => lookup.has(piece) || lookup.set(piece, id));
  const ids: number[] = [];
  if (text !== '') {
    const space = lookup.get(' ');
    assert(space !== undefined, 'the vocabulary has a space piece');
    ids.push(space);
  }
  for (const char of text) {
    const id = lookup.get(char);
    if (id !== undefined) ids.push(id);
    else for (const byte of new TextEncoder().encode(char)) ids.push(byte + 3);
  }
  for (;;) {
    let best = -1e10;
    let at = -1;
    let merged = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const id = lookup.get(pieces[ids[i]] + pieces[ids[i + 1]]);
      if (id !== undefined && tok.tokens[id].score > best) {
        best = tok.tokens[id].score;
        at = i;
        merged = id;
      }
    }
    if (at < 0) break;
    ids.splice(at, 2, merged);
  }
  return [1, ...ids];
}

describe('tokenizer.json from tok512.bin', () => {
  const cases = golden<Array<{ text: string; ids_with_bos: number[]; decoded: string }>>(
    'golden_tok512_encode.json',
  );

  test.each(cases.map(c => [JSON.stringify(c.text), c] as const))(
    'encodes %s exactly like llama2.c',
    (_name, c) => {
      expect(tokenizer.encode(c.text).ids).toEqual(c.ids_with_bos);
      expect(referenceEncode(tok512, c.text)).toEqual(c.ids_with_bos);
    },
  );

  test.each(cases.map(c => [JSON.stringify(c.text), c] as const))(
    'decodes %s back to the text',
    (_name, c) => {
      if (c.text === '') return;
      expect(tokenizer.decode(c.ids_with_bos, { skip_special_tokens: true })).toBe(c.decoded);
    },
  );

  test('matches the reference encoder on random text', () => {
    const alphabet = [
      ...'abcdefghijklmnopqrstuvwxyzABCDELST .,!?\'"\n\t0123456789',
      'é',
      'ï',
      '日',
      '😀',
      '  ',
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }), parts => {
        const text = parts.join('');
        expect(tokenizer.encode(text).ids).toEqual(referenceEncode(tok512, text));
      }),
      { numRuns: 500, seed: 42 },
    );
  });

  test('has the specials, byte tokens and a BOS-adding post-processor', () => {
    expect(tokenizer.token_to_id('<unk>')).toBe(0);
    expect(tokenizer.token_to_id('<s>')).toBe(1);
    expect(tokenizer.token_to_id('</s>')).toBe(2);
    expect(tokenizer.token_to_id('<0x0A>')).toBe(13);
    expect(tokenizer.token_to_id('\u2581Once')).toBe(403);
    expect(tokenizer.encode('Hi', { add_special_tokens: false }).ids[0]).not.toBe(1);
    expect(tokenizer.decode([1, 403, 2], { skip_special_tokens: true })).toBe('Once');
  });

  test('merges are ordered by the merged piece score', () => {
    const merges = mergesFromScores([
      { piece: '<unk>', score: 0 },
      { piece: '<s>', score: 0 },
      { piece: '</s>', score: 0 },
      { piece: 'a', score: -5 },
      { piece: 'b', score: -6 },
      { piece: 'ab', score: -2 },
      { piece: 'ba', score: -1 },
      { piece: 'aba', score: -3 },
    ]);
    expect(merges).toEqual([
      ['b', 'a'],
      ['a', 'b'],
      ['a', 'ba'],
      ['ab', 'a'],
    ]);
  });

  test('a repeated piece is a ModelFormatError', () => {
    const bytes = new TextEncoder().encode('x');
    const broken: Llama2cTokenizer = {
      maxTokenLength: 1,
      tokens: [0, 1, 2, 3, 4].map(i => ({ bytes: i < 3 ? new Uint8Array() : bytes, score: 0 })),
    };
    expect(() => llama2cTokenizerJson(broken)).toThrow(ModelFormatError);
  });
});
