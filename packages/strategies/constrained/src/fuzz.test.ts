/**
 * Fuzzing the three constraint compilers: for any regex, JSON Schema or grammar — valid, invalid,
 * unsatisfiable or pathological — compiling either succeeds or throws a typed DecodingError, and compiling
 * plus a short random walk through the allowed tokens takes well under a second. Nested quantifiers such as
 * (a+)+b, which make backtracking matchers explode, compile to a pushdown recogniser and stay linear.
 */
import { fc, test } from '@fast-check/vitest';
import { DecodingError, seededRandom } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { byteTokenizer } from './__fixtures__/byte-tokenizer.js';
import {
  grammar,
  jsonSchema,
  regex,
  type ConstraintProcessor,
  type ConstraintState,
} from './index.js';

const tokenizer = byteTokenizer(['ab', 'aa', '{"', '":', 'true']);
const LIMIT_MS = 1_000;

/** Compiles, then walks up to 64 allowed tokens; returns how it ended. Any non-typed throw fails the test. */
function exercise(make: () => ConstraintProcessor, seed: number): 'ok' | 'typed-error' {
  let processor: ConstraintProcessor;
  try {
    processor = make();
  } catch (error) {
    if (!DecodingError.isInstance(error)) throw error;
    expect((error as Error).message.length).toBeGreaterThan(10);
    return 'typed-error';
  }
  const random = seededRandom(seed);
  try {
    let state: ConstraintState = processor.init([]);
    for (let step = 0; step < 64; step++) {
      const allowed = processor.allowedTokens(state);
      if (allowed.length === 0 || (allowed.length === 1 && allowed[0] === 0)) break;
      const choices = allowed.filter(id => id !== 0);
      state = processor.advance(state, choices[Math.floor(random.next() * choices.length)]);
    }
  } catch (error) {
    // An unsatisfiable constraint may only be discovered while walking: it must say so with a typed error.
    if (!DecodingError.isInstance(error)) throw error;
    return 'typed-error';
  }
  return 'ok';
}

function timed(
  make: () => ConstraintProcessor,
  seed: number,
): { outcome: 'ok' | 'typed-error'; ms: number } {
  const start = performance.now();
  const outcome = exercise(make, seed);
  return { outcome, ms: performance.now() - start };
}

// Regex fragments biased towards what breaks backtracking engines: nested and stacked quantifiers.
const regexArbitrary: fc.Arbitrary<string> = fc.letrec<{ node: string }>(tie => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(
      'a',
      'b',
      '.',
      '\\d',
      '\\w',
      '\\s',
      '[a-c]',
      '[^a]',
      'x',
      '\\.',
      '(?:)',
      '^',
      '$',
      '\\b',
      '(?=a)',
      '\\1',
      '\\p{L}',
    ),
    fc
      .tuple(
        tie('node'),
        fc.constantFrom('*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '{3,1}', '{99999}'),
      )
      .map(([a, q]) => `(${a})${q}`),
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => `${a}${b}`),
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => `(${a}|${b})`),
  ),
})).node;

const schemaLeaf = fc.oneof(
  fc.constant({ type: 'string' }),
  fc.record({
    type: fc.constant('string'),
    minLength: fc.integer({ min: -2, max: 6 }),
    maxLength: fc.integer({ min: -2, max: 6 }),
  }),
  fc.record({
    type: fc.constant('integer'),
    minimum: fc.integer({ min: -5, max: 5 }),
    maximum: fc.integer({ min: -5, max: 5 }),
  }),
  fc.record({
    type: fc.constant('number'),
    exclusiveMinimum: fc.double({ noNaN: true, min: -3, max: 3 }),
  }),
  fc.constant({ type: 'boolean' }),
  fc.constant({ type: 'null' }),
  fc.constant({ enum: [] }),
  fc.constant({ enum: ['a', 1, null] }),
  fc.constant({ const: 'x' }),
  fc.constant({ type: 'string', pattern: '(a+)+b' }),
  fc.constant({ type: 'string', pattern: '(' }),
  fc.constant({ type: 'string', format: 'date-time' }),
  fc.constant({ type: 'nonsense' }),
  fc.constant({ $ref: '#/definitions/missing' }),
  fc.constant({ not: { type: 'string' } }),
  fc.constant(false),
  fc.constant(true),
);

const schemaArbitrary: fc.Arbitrary<unknown> = fc.letrec<{ schema: unknown }>(tie => ({
  schema: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    schemaLeaf,
    fc.record({
      type: fc.constant('object'),
      properties: fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('schema'), { maxKeys: 3 }),
      required: fc.array(fc.constantFrom('a', 'b', 'z'), { maxLength: 3 }),
    }),
    fc.record({
      type: fc.constant('array'),
      items: tie('schema'),
      minItems: fc.integer({ min: 0, max: 4 }),
      maxItems: fc.integer({ min: 0, max: 4 }),
    }),
    fc.record({ anyOf: fc.array(tie('schema'), { maxLength: 3 }) }),
    fc.record({ oneOf: fc.array(tie('schema'), { maxLength: 3 }) }),
    fc.record({ allOf: fc.array(tie('schema'), { maxLength: 2 }) }),
  ),
})).schema;

const grammarArbitrary: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constant('root ::= "a" root | "b"'),
      fc.constant('root ::= root "a"'),
      fc.constant('root ::= x'),
      fc.constant('x ::= x'),
      fc.constant('root ::= ("a"*)*'),
      fc.constant('root ::= ("a"+)+ "b"'),
      fc.constant('root ::= [a-'),
      fc.constant('root ::= "unterminated'),
      fc.constant('root ::= [^\\x00-\\U0010FFFF]'),
      fc.constant('root ::= ""'),
      fc.constant('root ::= "x"{2,1}'),
      fc.constant('root'),
      fc.constant('::='),
      fc.string({ maxLength: 20 }),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map(lines => lines.join('\n'));

describe('constraint compilers under fuzzing: a typed error or a working constraint, within 1 s', () => {
  test.prop([regexArbitrary, fc.nat()], { numRuns: 150 })('regex', (pattern, seed) => {
    const { ms } = timed(() => regex(pattern, { tokenizer, maxTokens: 32 }), seed);
    expect(ms).toBeLessThan(LIMIT_MS);
  });

  test.prop([fc.string({ maxLength: 24 }), fc.nat()], { numRuns: 150 })(
    'regex from arbitrary text',
    (pattern, seed) => {
      const { ms } = timed(() => regex(pattern, { tokenizer }), seed);
      expect(ms).toBeLessThan(LIMIT_MS);
    },
  );

  test.prop([schemaArbitrary, fc.nat()], { numRuns: 150 })('JSON Schema', (schema, seed) => {
    const { ms } = timed(() => jsonSchema(schema as never, { tokenizer, maxTokens: 48 }), seed);
    expect(ms).toBeLessThan(LIMIT_MS);
  });

  test.prop([grammarArbitrary, fc.nat()], { numRuns: 150 })('GBNF grammar', (source, seed) => {
    const { ms } = timed(() => grammar(source, { tokenizer, maxTokens: 32 }), seed);
    expect(ms).toBeLessThan(LIMIT_MS);
  });

  it.each([
    ['(a+)+b', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab'],
    ['(a*)*b', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab'],
    ['(a|aa)+b', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab'],
    ['(a|a?)+b', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab'],
    ['((a{1,3}){1,3}){1,3}b', 'aaaaaaaaab'],
  ])('nested quantifiers /%s/ compile and walk %s in linear time', (pattern, text) => {
    const start = performance.now();
    const processor = regex(pattern, { tokenizer });
    let state = processor.init([]);
    for (const byte of new TextEncoder().encode(text)) {
      expect(processor.allowedTokens(state)).toContain(1 + byte);
      state = processor.advance(state, 1 + byte);
    }
    expect(processor.isComplete(state)).toBe(true);
    // One more 'a' after the final b is outside the language.
    expect(processor.allowedTokens(state)).not.toContain(1 + 0x61);
    expect(performance.now() - start).toBeLessThan(LIMIT_MS);
  });
});
