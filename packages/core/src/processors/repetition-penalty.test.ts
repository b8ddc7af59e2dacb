import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { closeTo, processed } from './__fixtures__/logits.js';
import { repetitionPenalty } from './repetition-penalty.js';

describe('repetitionPenalty', () => {
  const logits = [2, -1, 0.5, 1, -3];
  it.each([
    { r: 2, prefix: [0, 1], generated: [1], expected: [1, -2, 0.5, 1, -3] },
    { r: 2, prefix: [], generated: [3, 3, 3], expected: [2, -1, 0.5, 0.5, -3] }, // once per distinct token
    { r: 1.5, prefix: [4], generated: [2], expected: [2, -1, 0.333333, 1, -4.5] },
    { r: 1, prefix: [0, 1, 2], generated: [3], expected: logits },
    { r: 0.5, prefix: [0, 1], generated: [], expected: [4, -0.5, 0.5, 1, -3] }, // r < 1 encourages
  ])('r=$r over prefix $prefix and generated $generated', ({ r, prefix, generated, expected }) => {
    expect([...processed(repetitionPenalty(r), logits, prefix, generated)]).toEqual(
      closeTo(expected),
    );
  });

  it('ignores ids beyond the vocabulary and keeps -Infinity', () => {
    expect([...processed(repetitionPenalty(2), [-Infinity, 1], [0, 7])]).toEqual([-Infinity, 1]);
  });

  it.each([0, -1, NaN, Infinity])('rejects r=%s', r => {
    expect(() => repetitionPenalty(r)).toThrow(/> 0/);
  });

  test.prop([
    fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -20, max: 20 }), {
      minLength: 1,
      maxLength: 16,
    }),
    fc.array(fc.nat(20)),
    fc.array(fc.nat(20)),
    fc.double({ min: 1, max: 5, noNaN: true }),
  ])('never raises a logit when r >= 1', (row, prefix, generated, r) => {
    const result = processed(repetitionPenalty(r), row, prefix, generated);
    for (let i = 0; i < row.length; i++) expect(result[i]).toBeLessThanOrEqual(Math.fround(row[i]));
  });

  test.prop([fc.array(fc.nat(8)), fc.array(fc.nat(8), { minLength: 1 })])(
    'advance never mutates the old state',
    (prefix, more) => {
      const processor = repetitionPenalty(2);
      const state = processor.init(prefix);
      const row = Float32Array.from({ length: 9 }, (_, i) => i - 4);
      const before = Float32Array.from(row);
      processor.process(before, state);
      let next = state;
      for (const token of more) next = processor.advance(next, token);
      const after = Float32Array.from(row);
      processor.process(after, state);
      expect(after).toEqual(before);
    },
  );
});
