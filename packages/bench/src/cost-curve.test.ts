import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, mockModel } from '@decodekit/core';
import { measureCostCurve, relativeCost, speedupCeiling } from './cost-curve.js';

describe('measureCostCurve (mock model)', () => {
  const model = mockModel({ vocabSize: 8, contextLength: 64, logits: () => new Float32Array(8) });

  it('times every k after a committed prefix, interleaved, relative to k = 1', async () => {
    model.forwardCalls.length = 0;
    const curve = await measureCostCurve(model, {
      ks: [4, 1, 2, 2],
      contextTokens: 10,
      repeats: 3,
    });
    expect(curve.map(point => point.k)).toEqual([1, 2, 4]);
    expect(curve[0].relative).toBe(1);
    expect(curve.every(point => point.ms_median >= 0)).toBe(true);
    const calls = model.forwardCalls.map(call => `${call.prefixLength}+${call.tokens.length}`);
    // The prefill, one warm-up per k, then 3 rounds that each time every k once (in a shuffled order);
    // nothing beyond the prefix is ever committed.
    expect(calls.slice(0, 4)).toEqual(['0+10', '10+1', '10+2', '10+4']);
    expect(calls).toHaveLength(13);
    for (let round = 0; round < 3; round++) {
      expect(calls.slice(4 + round * 3, 7 + round * 3).sort()).toEqual(['10+1', '10+2', '10+4']);
    }
  });

  it.each([
    { options: { ks: [] }, argument: 'ks' },
    { options: { ks: [0] }, argument: 'ks' },
    { options: { contextTokens: 0 }, argument: 'contextTokens' },
    { options: { repeats: 0 }, argument: 'repeats' },
    { options: { contextTokens: 60, ks: [8] }, argument: 'contextTokens' },
  ])('rejects $options', async ({ options, argument }) => {
    await expect(measureCostCurve(model, options)).rejects.toMatchObject({ argument });
    await expect(measureCostCurve(model, options)).rejects.toThrow(InvalidArgumentError);
  });
});

describe('relativeCost and speedupCeiling', () => {
  const curve = [
    { k: 4, ms_median: 3, relative: 1.5 },
    { k: 1, ms_median: 2, relative: 1 },
    { k: 8, ms_median: 4, relative: 2 },
  ];

  it.each([
    { rows: 1, expected: 1 },
    { rows: 2, expected: 1 + 0.5 / 3 },
    { rows: 4, expected: 1.5 },
    { rows: 6, expected: 1.75 },
    { rows: 12, expected: 2.5 }, // the last segment, extended
    { rows: 0.5, expected: 1 },
  ])('interpolates $rows rows to $expected', ({ rows, expected }) => {
    expect(relativeCost(curve, rows)).toBeCloseTo(expected, 10);
  });

  it('rejects an empty curve and non-positive rows', () => {
    expect(() => relativeCost([], 1)).toThrow(InvalidArgumentError);
    expect(() => relativeCost(curve, 0)).toThrow(/positive/);
  });

  it('is τ over the mean relative cost of the forwards made', () => {
    // 2 forwards of 4 rows (1.5 each) and 2 of 8 rows (2 each): mean cost 1.75.
    expect(speedupCeiling(curve, { 4: 2, 8: 2 }, 3.5)).toBeCloseTo(2, 10);
    expect(speedupCeiling(curve, { 1: 10 }, 1)).toBe(1);
    expect(speedupCeiling(curve, {}, 1)).toBeNull();
  });
});
