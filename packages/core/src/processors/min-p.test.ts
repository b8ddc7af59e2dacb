import { describe, expect, it } from 'vitest';
import { closeTo, probabilitiesAfter } from './__fixtures__/logits.js';
import { minP } from './min-p.js';

describe('minP', () => {
  it.each([
    { p: 0, expected: [0.1, 0.2, 0.3, 0.4] },
    { p: 0.2, expected: [0.1, 0.2, 0.3, 0.4] },
    { p: 0.3, expected: [0, 0.222222, 0.333333, 0.444444] },
    { p: 0.6, expected: [0, 0, 0.428571, 0.571429] },
    { p: 1, expected: [0, 0, 0, 1] },
  ])('p=$p bans tokens below p * max probability', ({ p, expected }) => {
    expect(probabilitiesAfter(minP(p), [0.1, 0.2, 0.3, 0.4])).toEqual(closeTo(expected));
  });

  it.each([-0.1, 1.5, NaN])('rejects p=%s', p => {
    expect(() => minP(p)).toThrow(/\[0, 1\]/);
  });
});
