import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { closeTo, probabilitiesAfter, processed } from './__fixtures__/logits.js';
import { referenceKept } from './__fixtures__/reference-truncation.js';
import { topP } from './top-p.js';

describe('topP', () => {
  it.each([
    { p: 1, expected: [0.1, 0.2, 0.3, 0.4] },
    { p: 0.95, expected: [0.1, 0.2, 0.3, 0.4] },
    { p: 0.8, expected: [0, 0.222222, 0.333333, 0.444444] },
    { p: 0.5, expected: [0, 0, 0.428571, 0.571429] },
    { p: 0.35, expected: [0, 0, 0, 1] },
    { p: 0.01, expected: [0, 0, 0, 1] },
  ])('p=$p keeps the smallest set reaching p', ({ p, expected }) => {
    expect(probabilitiesAfter(topP(p), [0.1, 0.2, 0.3, 0.4])).toEqual(closeTo(expected));
  });

  it('ignores tokens already banned and breaks ties by the lowest id', () => {
    expect(probabilitiesAfter(topP(0.3), [0, 0.25, 0.25, 0.25, 0.25])).toEqual(
      closeTo([0, 0.5, 0.5, 0, 0]),
    );
  });

  it.each([0, -0.1, 1.01, NaN])('rejects p=%s', p => {
    expect(() => topP(p)).toThrow(/\(0, 1\]/);
  });

  test.prop([
    fc.array(
      fc.oneof(
        fc.float({ noNaN: true, noDefaultInfinity: true, min: -8, max: 8 }),
        fc.constant(-Infinity),
        fc.constant(0),
      ),
      {
        minLength: 1,
        maxLength: 600,
      },
    ),
    fc.double({ min: 0.01, max: 0.999, noNaN: true }),
  ])('keeps exactly what a full sort would keep (candidate growth included)', (logits, p) => {
    const row = processed(topP(p), logits);
    const kept = [...row.keys()].filter(i => row[i] !== -Infinity);
    expect(kept).toEqual(referenceKept(logits, p, 'top-p'));
  });
});
