import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { closeTo, probabilitiesAfter, thrown } from './__fixtures__/logits.js';
import { temperature } from './temperature.js';

describe('temperature', () => {
  it.each([
    { t: 1, expected: [0.1, 0.2, 0.3, 0.4] },
    { t: 0.5, expected: [0.033333, 0.133333, 0.3, 0.533333] },
    { t: 2, expected: [0.1627, 0.230093, 0.281805, 0.325401] },
    { t: 1.5, expected: [0.139134, 0.220861, 0.28941, 0.350595] },
  ])('t=$t', ({ t, expected }) => {
    expect(probabilitiesAfter(temperature(t), [0.1, 0.2, 0.3, 0.4])).toEqual(closeTo(expected));
  });

  it('keeps banned tokens banned', () => {
    expect(probabilitiesAfter(temperature(0.5), [0, 0.5, 0.5])).toEqual(closeTo([0, 0.5, 0.5]));
  });

  it.each([0, -1, Infinity, NaN])(
    'rejects t=%s with an InvalidArgumentError that points at greedy()',
    t => {
      const error = thrown(() => temperature(t));
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/greedy\(\)/);
    },
  );
});
