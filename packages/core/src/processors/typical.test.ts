import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { closeTo, probabilitiesAfter, processed } from './__fixtures__/logits.js';
import { referenceKept } from './__fixtures__/reference-truncation.js';
import { typical } from './typical.js';

// For [0.1, 0.2, 0.3, 0.4]: entropy H = 1.27985; |-ln p - H| = [1.0227, 0.3293, 0.0759, 0.3636], so the
// typicality order is token 2, 1, 3, 0 (cumulative mass 0.3, 0.5, 0.9, 1.0).
describe('typical', () => {
  it.each([
    { p: 1, expected: [0.1, 0.2, 0.3, 0.4] },
    { p: 0.25, expected: [0, 0, 1, 0] },
    { p: 0.4, expected: [0, 0.4, 0.6, 0] },
    { p: 0.85, expected: [0, 0.222222, 0.333333, 0.444444] },
    { p: 0.95, expected: [0.1, 0.2, 0.3, 0.4] },
  ])('p=$p keeps the most typical tokens', ({ p, expected }) => {
    expect(probabilitiesAfter(typical(p), [0.1, 0.2, 0.3, 0.4])).toEqual(closeTo(expected));
  });

  it('treats banned tokens as probability 0 in the entropy', () => {
    expect(probabilitiesAfter(typical(0.4), [0, 0.1, 0.2, 0.3, 0.4])).toEqual(
      closeTo([0, 0, 0.4, 0.6, 0]),
    );
  });

  it.each([0, 2, NaN])('rejects p=%s', p => {
    expect(() => typical(p)).toThrow(/\(0, 1\]/);
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
    const row = processed(typical(p), logits);
    const kept = [...row.keys()].filter(i => row[i] !== -Infinity);
    expect(kept).toEqual(referenceKept(logits, p, 'typical'));
  });
});
