import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { closeTo, probabilitiesAfter, processed } from './__fixtures__/logits.js';
import { selectDescending, topK } from './top-k.js';

describe('topK', () => {
  it.each([
    { k: 1, expected: [0, 0, 0, 1] },
    { k: 3, expected: [0, 0.222222, 0.333333, 0.444444] },
    { k: 4, expected: [0.1, 0.2, 0.3, 0.4] },
    { k: 10, expected: [0.1, 0.2, 0.3, 0.4] },
    { k: 0, expected: [0.1, 0.2, 0.3, 0.4] }, // 0 disables
  ])('k=$k renormalizes the survivors', ({ k, expected }) => {
    expect(probabilitiesAfter(topK(k), [0.1, 0.2, 0.3, 0.4])).toEqual(closeTo(expected));
  });

  it('breaks ties at the k-th value by the lowest id', () => {
    expect(probabilitiesAfter(topK(2), [0.1, 0.3, 0.3, 0.3])).toEqual(closeTo([0, 0.5, 0.5, 0]));
  });

  it.each([-1, 1.5, NaN])('rejects k=%s', k => {
    expect(() => topK(k)).toThrow(/non-negative integer/);
  });

  const row = fc.array(
    fc.oneof(
      fc.float({ noNaN: true, noDefaultInfinity: true, min: -30, max: 30 }),
      fc.constant(-Infinity),
      fc.constant(1),
    ),
    { minLength: 1, maxLength: 80 },
  );

  test.prop([row, fc.integer({ min: 1, max: 90 })])(
    'keeps at most k finite logits, the largest ones',
    (logits, k) => {
      const result = processed(topK(k), logits);
      const finite = logits.filter(value => value !== -Infinity).length;
      const kept = [...result].filter(value => value !== -Infinity);
      expect(kept.length).toBe(Math.min(k, finite));
      const sorted = Float32Array.from(logits).sort((a, b) => b - a);
      for (const value of kept)
        expect(value).toBeGreaterThanOrEqual(sorted[Math.min(k, finite) - 1]);
    },
  );

  test.prop([fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 200 }), fc.nat()])(
    'quickselect agrees with sorting',
    (values, rankSeed) => {
      const rank = rankSeed % values.length;
      const expected = Float32Array.from(values).sort((a, b) => b - a)[rank];
      expect(selectDescending(Float32Array.from(values), rank)).toBe(expected);
    },
  );
});
