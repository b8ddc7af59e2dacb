import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { closeTo, processed } from './__fixtures__/logits.js';
import { frequencyPenalty } from './frequency-penalty.js';
import { presencePenalty } from './presence-penalty.js';

describe('presencePenalty and frequencyPenalty (OpenAI semantics, generated tokens only)', () => {
  const logits = [1, 1, 1, 1];
  it.each([
    {
      name: 'presence',
      make: presencePenalty,
      a: 0.5,
      generated: [0, 0, 2],
      expected: [0.5, 1, 0.5, 1],
    },
    { name: 'presence', make: presencePenalty, a: -1, generated: [1, 1], expected: [1, 2, 1, 1] },
    {
      name: 'frequency',
      make: frequencyPenalty,
      a: 0.5,
      generated: [0, 0, 2],
      expected: [0, 1, 0.5, 1],
    },
    {
      name: 'frequency',
      make: frequencyPenalty,
      a: 0.25,
      generated: [3, 3, 3, 3],
      expected: [1, 1, 1, 0],
    },
    { name: 'frequency', make: frequencyPenalty, a: 0, generated: [3], expected: [1, 1, 1, 1] },
  ])('$name($a) after generating $generated', ({ make, a, generated, expected }) => {
    // The prefix [3, 3] never counts.
    expect([...processed(make(a), logits, [3, 3], generated)]).toEqual(closeTo(expected));
  });

  it('does not count the prefix', () => {
    expect([...processed(presencePenalty(1), logits, [0, 1, 2, 3])]).toEqual(logits);
    expect([...processed(frequencyPenalty(1), logits, [0, 1, 2, 3])]).toEqual(logits);
  });

  it.each([NaN, Infinity])('rejects %s', a => {
    expect(() => presencePenalty(a)).toThrow(/finite/);
    expect(() => frequencyPenalty(a)).toThrow(/finite/);
  });

  const row = fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -20, max: 20 }), {
    minLength: 1,
    maxLength: 16,
  });
  test.prop([row, fc.array(fc.nat(20)), fc.double({ min: 0, max: 2, noNaN: true }), fc.boolean()])(
    'never raises a logit when a >= 0',
    (logitsRow, generated, a, frequency) => {
      const result = processed(
        (frequency ? frequencyPenalty : presencePenalty)(a),
        logitsRow,
        [],
        generated,
      );
      for (let i = 0; i < logitsRow.length; i++)
        expect(result[i]).toBeLessThanOrEqual(Math.fround(logitsRow[i]));
    },
  );

  test.prop([fc.array(fc.nat(6)), fc.array(fc.nat(6), { minLength: 1 }), fc.boolean()])(
    'advance never mutates the old state',
    (generated, more, frequency) => {
      const processor = (frequency ? frequencyPenalty : presencePenalty)(1);
      let state = processor.init([]);
      for (const token of generated) state = processor.advance(state, token);
      const rowBefore = new Float32Array(7);
      processor.process(rowBefore, state);
      let next = state;
      for (const token of more) next = processor.advance(next, token);
      const rowAfter = new Float32Array(7);
      processor.process(rowAfter, state);
      expect(rowAfter).toEqual(rowBefore);
    },
  );
});
