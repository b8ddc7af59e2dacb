import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, mockModel } from '@decodekit/core';
import { measureCostCurve } from './cost-curve.js';

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
