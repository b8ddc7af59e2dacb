import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { charTokenizer } from './__fixtures__/tiny.js';
import { buildAlphabet, bytesToSymbols, symbolsToBytes, utf8Runs } from './alphabet.js';

const withFallback = charTokenizer(400);
const withoutFallback = charTokenizer(48);
const encoder = new TextEncoder();

describe.each([
  { name: 'byte-fallback vocabulary', tokenizer: withFallback, vocabSize: 400 },
  { name: 'vocabulary without byte tokens', tokenizer: withoutFallback, vocabSize: 48 },
  { name: 'model with padding rows past the tokenizer', tokenizer: withFallback, vocabSize: 416 },
])('bytesToSymbols on a $name', ({ tokenizer, vocabSize }) => {
  const alphabet = buildAlphabet(tokenizer, vocabSize);
  const roundTrip = (bytes: Uint8Array) => {
    const { symbols, strips } = bytesToSymbols(bytes, alphabet, tokenizer);
    for (const symbol of symbols) expect(symbol).toBeLessThan(alphabet.symbolCount);
    return symbolsToBytes(symbols, strips, alphabet);
  };

  test.prop([fc.string({ unit: 'binary' })])(
    'round-trips arbitrary Unicode byte for byte',
    text => {
      const bytes = encoder.encode(text);
      expect(roundTrip(bytes)).toEqual(bytes);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 200 })])(
    'round-trips arbitrary bytes (invalid UTF-8 included)',
    bytes => {
      expect(roundTrip(bytes)).toEqual(bytes);
    },
  );

  it.each([
    '',
    ' ',
    'the cat sat.',
    '  two  leading spaces',
    'special strings </s> and <s> and <unk> stay text',
    '\uFEFFa byte-order mark, \r\n CRLF, \t tabs, \u0000 NUL',
    'é 😀 世界 \u{10FFFF}',
    '<0x41> looks like a byte token',
  ])('round-trips %j', text => {
    const bytes = encoder.encode(text);
    expect(roundTrip(bytes)).toEqual(bytes);
  });
});

describe('buildAlphabet', () => {
  it('uses the <0xNN> tokens for raw bytes when the vocabulary has them, escapes otherwise', () => {
    const fallback = buildAlphabet(withFallback, 400);
    expect(fallback.symbolCount).toBe(400);
    expect(withFallback.idToToken(fallback.byteSymbol[0xe7])).toBe('<0xE7>');
    const escapes = buildAlphabet(withoutFallback, 48);
    expect(escapes.symbolCount).toBeGreaterThan(48);
    expect([...(escapes.symbolBytes[escapes.byteSymbol[0xe7]] ?? [])]).toEqual([0xe7]);
  });

  it('detects the dummy prefix and codes the common case with the tokenizer’s own tokens', () => {
    const alphabet = buildAlphabet(withFallback, 400);
    expect(alphabet.dummyPrefix).toBe(true);
    const text = 'the cat sat.';
    const { symbols, strips } = bytesToSymbols(encoder.encode(text), alphabet, withFallback);
    expect(symbols).toEqual(withFallback.encode(text, { addSpecialTokens: false }));
    expect(strips).toEqual([0]);
  });

  it('codes characters outside the vocabulary with the byte-fallback tokens', () => {
    const alphabet = buildAlphabet(withFallback, 400);
    const { symbols } = bytesToSymbols(encoder.encode('世'), alphabet, withFallback);
    expect(symbols.slice(1).map(symbol => withFallback.idToToken(symbol))).toEqual([
      '<0xE4>',
      '<0xB8>',
      '<0x96>',
    ]);
  });

  it('hashes the byte table: different vocabularies, different hashes', () => {
    expect(buildAlphabet(withFallback, 400).hash).toBe(buildAlphabet(charTokenizer(400), 400).hash);
    expect(buildAlphabet(withFallback, 400).hash).not.toBe(buildAlphabet(withoutFallback, 48).hash);
  });
});

describe('utf8Runs', () => {
  test.prop([fc.uint8Array({ maxLength: 64 })])(
    'splits into runs that are valid exactly when TextDecoder accepts them',
    bytes => {
      const fatal = new TextDecoder('utf-8', { fatal: true });
      let end = 0;
      for (const [start, stop, valid] of utf8Runs(bytes)) {
        expect(start).toBe(end);
        end = stop;
        if (valid) expect(() => fatal.decode(bytes.subarray(start, stop))).not.toThrow();
        else
          for (let i = start; i < stop; i++)
            expect(() => fatal.decode(bytes.subarray(i, i + 1))).toThrow();
      }
      expect(end).toBe(bytes.length);
    },
  );
});
