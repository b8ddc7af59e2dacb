import { DecodingError, InvalidArgumentError, type Tokenizer } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { byteTokenizer } from './__fixtures__/byte-tokenizer.js';
import { randomWalk } from './__fixtures__/random-walk.js';
import {
  ConstraintDeadEndError,
  grammar,
  jsonSchema,
  regex,
  constraintFromCli,
  type ConstraintProcessor,
} from './index.js';

const bytes = byteTokenizer(['{"', '":', '","', 'true', 'ab', 'abc']);

/** Feeds `text` one byte token at a time; returns whether every byte was allowed and the text is complete. */
function accepts(
  processor: ConstraintProcessor,
  text: string,
  tokenizer: Tokenizer = bytes,
): boolean {
  let state = processor.init([]);
  for (const byte of new TextEncoder().encode(text)) {
    const token = 1 + byte;
    if (!processor.allowedTokens(state).includes(token)) return false;
    state = processor.advance(state, token);
  }
  void tokenizer;
  return processor.isComplete(state) && processor.allowedTokens(state).includes(0);
}

describe('regex', () => {
  it.each([
    ['a(b|c)*d', 'abcbd', true],
    ['a(b|c)*d', 'abxd', false],
    ['a(b|c)*d', 'abc', false],
    ['[0-9]{2,3}', '123', true],
    ['[0-9]{2,3}', '1234', false],
    ['\\d+\\.\\d{2}', '3.14', true],
    ['[^a-z]+', 'ABC', true],
    ['[^a-z]+', 'AbC', false],
    ['é+ü', 'ééü', true],
    ['[α-ω]{2}', 'αβ', true],
    ['[α-ω]{2}', 'αz', false],
    ['.{2}', '漢😀', true],
    ['^(yes|no)$', 'no', true],
    ['\\w+@\\w+', 'me@host', true],
  ])('/%s/ on %j → %s', (pattern, text, expected) => {
    expect(accepts(regex(pattern, { tokenizer: bytes }), text)).toBe(expected);
  });

  it('multi-byte tokens are allowed exactly when their bytes fit', () => {
    const processor = regex('abc|abd', { tokenizer: bytes });
    const allowed = processor.allowedTokens(processor.init([])).map(id => bytes.decode([id]));
    expect(allowed.sort()).toEqual(['a', 'ab', 'abc']);
  });

  it.each([['(a)\\1'], ['(?=a)a'], ['\\bword'], ['\\p{L}'], ['a^b']])(
    'rejects unsupported /%s/',
    pattern => {
      expect(() => regex(pattern, { tokenizer: bytes })).toThrow(InvalidArgumentError);
    },
  );

  it('rejects flags it cannot honour', () => {
    expect(() => regex(/abc/i, { tokenizer: bytes })).toThrow(/flags "i"/);
  });
});

describe('grammar', () => {
  const balanced = 'root ::= "(" root ")" root | ""';
  it.each([
    [balanced, '(()())', true],
    [balanced, '(()', false],
    ['root ::= item ("," item)*\nitem ::= [a-z]+ | "[" root "]"', 'ab,[c,[d]],e', true],
    ['root ::= item ("," item)*\nitem ::= [a-z]+ | "[" root "]"', 'ab,[c', false],
    ['root ::= "x"{2,3} # comment\n', 'xxx', true],
    ['root ::= [^"\\n]* "\\""', 'héllo"', true],
  ])('%j on %j → %s', (source, text, expected) => {
    expect(accepts(grammar(source, { tokenizer: bytes }), text)).toBe(expected);
  });

  it.each([
    ['root ::= root "a" | "b"', /left-recursive/],
    ['root ::= missing', /never defined/],
    ['start ::= "a"', /no "root" rule/],
    ['root ::= "a" root', /no finite string/],
  ])('rejects %j', (source, message) => {
    expect(() => grammar(source, { tokenizer: bytes })).toThrow(message);
  });
});

describe('jsonSchema', () => {
  it('counts string length in code points and writes multi-byte UTF-8 and escapes', () => {
    const processor = jsonSchema(
      { type: 'string', minLength: 2, maxLength: 2 },
      { tokenizer: bytes },
    );
    expect(accepts(processor, '"é漢"')).toBe(true);
    expect(accepts(processor, '"\\n😀"')).toBe(true);
    expect(accepts(processor, '"é"')).toBe(false);
    expect(accepts(processor, '"abc"')).toBe(false);
    expect(accepts(processor, '"a\nb"')).toBe(false); // raw control characters are not JSON
  });

  it('writes properties in order, optional ones skippable, nothing undeclared', () => {
    const processor = jsonSchema(
      {
        type: 'object',
        properties: { a: { type: 'integer' }, b: { type: 'boolean' }, c: { const: 'x' } },
        required: ['c'],
      },
      { tokenizer: bytes },
    );
    expect(accepts(processor, '{"c":"x"}')).toBe(true);
    expect(accepts(processor, '{"a":-12,"c":"x"}')).toBe(true);
    expect(accepts(processor, '{"a":1,"b":true,"c":"x"}')).toBe(true);
    expect(accepts(processor, '{"b":true,"a":1,"c":"x"}')).toBe(false);
    expect(accepts(processor, '{"a":1}')).toBe(false);
    expect(accepts(processor, '{"c":"x","d":1}')).toBe(false);
  });

  it.each([
    [{ type: 'integer', minimum: -7, maximum: 130 }],
    [{ type: 'integer', exclusiveMinimum: 99, exclusiveMaximum: 1001 }],
    [{ type: 'number', minimum: -2.5, maximum: 3 }],
    [{ type: 'number', exclusiveMinimum: 0, maximum: 1 }],
  ])('numbers respect %j', schema => {
    const processor = jsonSchema(schema, { tokenizer: bytes, maxTokens: 40 });
    for (let seed = 0; seed < 60; seed++) {
      const value = JSON.parse(randomWalk(processor, seed, bytes).text) as number;
      if (schema.type === 'integer') expect(Number.isInteger(value)).toBe(true);
      if ('minimum' in schema) expect(value).toBeGreaterThanOrEqual(schema.minimum);
      if ('maximum' in schema) expect(value).toBeLessThanOrEqual(schema.maximum);
      if ('exclusiveMinimum' in schema) expect(value).toBeGreaterThan(schema.exclusiveMinimum);
      if ('exclusiveMaximum' in schema) expect(value).toBeLessThan(schema.exclusiveMaximum);
    }
  });

  it('lists every unsupported keyword at compile time', () => {
    expect(() =>
      jsonSchema({ type: 'string', format: 'email', not: { const: 'a' } }, { tokenizer: bytes }),
    ).toThrow(/format, not/);
    expect(() =>
      jsonSchema({ oneOf: [{ type: 'integer' }, { type: 'number' }] }, { tokenizer: bytes }),
    ).toThrow(/overlapping/);
  });

  it('follows $ref, $defs, anyOf and type arrays, and recursion', () => {
    const processor = jsonSchema(
      {
        $defs: {
          node: {
            type: 'object',
            properties: { v: { type: ['integer', 'null'] }, next: { $ref: '#/$defs/node' } },
            required: ['v'],
          },
        },
        anyOf: [{ $ref: '#/$defs/node' }, { enum: ['end'] }],
      },
      { tokenizer: bytes },
    );
    expect(accepts(processor, '{"v":1,"next":{"v":null,"next":{"v":3}}}')).toBe(true);
    expect(accepts(processor, '"end"')).toBe(true);
    expect(accepts(processor, '{"next":{"v":1}}')).toBe(false);
  });
});

describe('dead ends and budgets', () => {
  it('throws a typed error when no token of the vocabulary can continue', () => {
    const sparse = byteTokenizer(['a', 'b'], { singleBytes: false });
    const processor = regex('ac', { tokenizer: sparse });
    const state = processor.advance(processor.init([]), sparse.idOf('a'));
    const error = (() => {
      try {
        processor.process(new Float32Array(sparse.vocabSize), state);
      } catch (caught) {
        return caught;
      }
    })();
    expect(ConstraintDeadEndError.isInstance(error)).toBe(true);
    expect(DecodingError.isInstance(error)).toBe(true);
  });

  it('throws when the structure is complete but there is no EOS token', () => {
    const noEos = byteTokenizer([], { eos: false });
    const processor = regex('a', { tokenizer: noEos });
    const state = processor.advance(processor.init([]), 1 + 0x61);
    expect(() => processor.process(new Float32Array(noEos.vocabSize), state)).toThrow(/complete/);
  });

  it('masks exactly: disallowed logits become -Infinity, allowed ones are untouched', () => {
    const processor = regex('ab?', { tokenizer: bytes });
    const logits = Float32Array.from({ length: bytes.vocabSize }, (_, i) => i / 10);
    processor.process(logits, processor.init([]));
    const kept = [...logits.keys()].filter(i => logits[i] !== -Infinity);
    expect(kept.map(id => bytes.decode([id])).sort()).toEqual(['a', 'ab']);
    for (const id of kept) expect(logits[id]).toBeCloseTo(id / 10, 6);
  });

  it('with maxTokens, any walk ends complete within the budget (budget ≥ minimalTokens)', () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'number' } } },
      required: ['name', 'tags'],
    };
    const minimal = jsonSchema(schema, { tokenizer: bytes }).minimalTokens;
    expect(minimal).toBe('{"name":"","tags":[]}'.length);
    for (const maxTokens of [minimal, minimal + 1, minimal + 5, minimal + 30]) {
      const processor = jsonSchema(schema, { tokenizer: bytes, maxTokens });
      for (let seed = 0; seed < 30; seed++) {
        const { text, tokens } = randomWalk(processor, seed, bytes);
        expect(tokens).toBeLessThanOrEqual(maxTokens);
        expect(JSON.parse(text)).toMatchObject({
          name: expect.any(String),
          tags: expect.any(Array),
        });
      }
    }
    expect(() => jsonSchema(schema, { tokenizer: bytes, maxTokens: minimal - 1 })).toThrow(
      /cannot hold/,
    );
  });

  it('advance never mutates the state it is given', () => {
    const processor = jsonSchema(
      { type: 'array', items: { type: 'integer' } },
      { tokenizer: bytes },
    );
    const start = processor.init([]);
    const snapshot = { ...start };
    processor.advance(start, 1 + 0x5b);
    expect(start).toEqual(snapshot);
  });
});

describe('constraintFromCli', () => {
  it('builds exactly one constraint', () => {
    expect(accepts(constraintFromCli({ regex: 'ab+', tokenizer: bytes }), 'abb')).toBe(true);
    expect(accepts(constraintFromCli({ grammar: 'root ::= "x"', tokenizer: bytes }), 'x')).toBe(
      true,
    );
    expect(
      accepts(
        constraintFromCli({ jsonSchema: { type: 'boolean' }, tokenizer: bytes, maxTokens: 8 }),
        'true',
      ),
    ).toBe(true);
    expect(() => constraintFromCli({ tokenizer: bytes })).toThrow(/exactly one/);
    expect(() =>
      constraintFromCli({ regex: 'a', grammar: 'root ::= "a"', tokenizer: bytes }),
    ).toThrow(/exactly one/);
  });
});
