import { describe, expect, it } from 'vitest';
import { mean, median, pairedBootstrap, round } from './statistics.js';

describe('statistics', () => {
  it.each([
    { values: [3], expected: 3 },
    { values: [3, 1, 2], expected: 2 },
    { values: [4, 1, 3, 2], expected: 2.5 },
    { values: [1.5, 1.5, 0.5, 4], expected: 1.5 },
  ])('median of $values is $expected', ({ values, expected }) => {
    expect(median(values)).toBe(expected);
  });

  it('median does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('mean, and NaN for empty inputs', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(mean([])).toBeNaN();
    expect(median([])).toBeNaN();
  });

  it('round keeps non-finite values', () => {
    expect(round(1.23456, 2)).toBe(1.23);
    expect(round(Number.NaN)).toBeNaN();
  });
});

describe('pairedBootstrap', () => {
  it('identical runs give exactly 0 with only ties', () => {
    const run = [0.3, 0.5, 0.7, 0.2];
    expect(pairedBootstrap(run, [...run])).toEqual({
      n: 4,
      mean: 0,
      low: 0,
      high: 0,
      positive: 0,
      negative: 0,
      ties: 4,
    });
  });

  it('a constant difference has an interval of that difference', () => {
    const result = pairedBootstrap([1.5, 2.5, 3.5], [1, 2, 3]);
    expect(result).toMatchObject({ mean: 0.5, low: 0.5, high: 0.5, positive: 3 });
  });

  it('two items with differences 0 and 1: resampled means 0, ½, 1 with probability ¼, ½, ¼', () => {
    // P(mean = 0) = ¼ > 2.5 %, so both 95 % bounds are the extreme resampled means.
    const result = pairedBootstrap([1, 2], [1, 1], { draws: 4000, seed: 3 });
    expect(result).toMatchObject({ mean: 0.5, low: 0, high: 1, positive: 1, ties: 1 });
    // At 40 % coverage the bounds are the 30 % and 70 % quantiles: both ½.
    expect(pairedBootstrap([1, 2], [1, 1], { draws: 4000, level: 0.4 })).toMatchObject({
      low: 0.5,
      high: 0.5,
    });
  });

  it('the interval brackets the mean, is seeded, and narrows as items grow', () => {
    const random = (seed: number) => {
      let state = seed;
      return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    };
    const next = random(1);
    const treatment = Array.from({ length: 400 }, () => next() + 0.1);
    const control = Array.from({ length: 400 }, () => next());
    const all = pairedBootstrap(treatment, control, { seed: 5 });
    expect(all.low).toBeLessThan(all.mean);
    expect(all.high).toBeGreaterThan(all.mean);
    expect(pairedBootstrap(treatment, control, { seed: 5 })).toEqual(all);
    expect(pairedBootstrap(treatment, control, { seed: 6 }).low).not.toBe(all.low);
    // Uniform differences have sd 1/√6 ≈ 0.41: the 95 % half-width is about 1.96 · 0.41 / √n.
    expect((all.high - all.low) / 2).toBeCloseTo(1.96 / Math.sqrt(6 * 400), 2);
    const few = pairedBootstrap(treatment.slice(0, 25), control.slice(0, 25));
    expect(few.high - few.low).toBeGreaterThan(3 * (all.high - all.low));
    expect(all.positive + all.negative + all.ties).toBe(400);
  });

  it.each([
    { treatment: [1, 2], control: [1], options: {}, argument: 'control' },
    { treatment: [], control: [], options: {}, argument: 'control' },
    { treatment: [1], control: [Number.NaN], options: {}, argument: 'treatment' },
    { treatment: [1], control: [1], options: { draws: 0 }, argument: 'draws' },
    { treatment: [1], control: [1], options: { level: 1 }, argument: 'level' },
  ])('rejects bad $argument', ({ treatment, control, options, argument }) => {
    expect(() => pairedBootstrap(treatment, control, options)).toThrow(
      expect.objectContaining({ argument }),
    );
  });
});
