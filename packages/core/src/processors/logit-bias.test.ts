import { describe, expect, it } from 'vitest';
import { closeTo, probabilitiesAfter, processed } from './__fixtures__/logits.js';
import { logitBias } from './logit-bias.js';

describe('logitBias', () => {
  it.each<{ bias: Map<number, number> | Record<number, number>; expected: number[] }>([
    { bias: { 1: 2 }, expected: [0, 3, 0, 0] },
    {
      bias: new Map([
        [3, -Infinity],
        [0, -0.5],
      ]),
      expected: [-0.5, 1, 0, -Infinity],
    },
    { bias: { 9: 5 }, expected: [0, 1, 0, 0] }, // beyond the vocabulary: ignored
  ])('adds $bias', ({ bias, expected }) => {
    expect([...processed(logitBias(bias), [0, 1, 0, 0])]).toEqual(closeTo(expected));
  });

  it('a ban renormalizes the rest', () => {
    expect(probabilitiesAfter(logitBias({ 3: -Infinity }), [0.1, 0.2, 0.3, 0.4])).toEqual(
      closeTo([0.166667, 0.333333, 0.5, 0]),
    );
  });

  it.each([
    [{ 1: NaN }, /finite number or -Infinity/],
    [{ 1: Infinity }, /finite number or -Infinity/],
    [new Map([[-1, 1]]), /token id/],
    [new Map([[1.5, 1]]), /token id/],
  ])('rejects %s', (bias, message) => {
    expect(() => logitBias(bias as Map<number, number>)).toThrow(message);
  });
});
