import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { closeTo } from './__fixtures__/logits.js';
import { argmax } from './argmax.js';
import { logSoftmax, softmax } from './softmax.js';

describe('softmax', () => {
  it.each([
    { logits: [0, 0, 0, 0], expected: [0.25, 0.25, 0.25, 0.25] },
    {
      logits: [Math.log(0.1), Math.log(0.2), Math.log(0.3), Math.log(0.4)],
      expected: [0.1, 0.2, 0.3, 0.4],
    },
    { logits: [1000, 1000, -Infinity, 999], expected: [0.42232, 0.42232, 0, 0.15536] },
    { logits: [-Infinity, 3, -Infinity], expected: [0, 1, 0] },
    { logits: [-Infinity, -Infinity], expected: [0, 0] },
  ])('softmax($logits)', ({ logits, expected }) => {
    expect([...softmax(Float32Array.from(logits))]).toEqual(closeTo(expected));
  });

  it.each([
    { logits: [0, 0], expected: [Math.log(0.5), Math.log(0.5)] },
    { logits: [1000, -Infinity, 1000], expected: [Math.log(0.5), -Infinity, Math.log(0.5)] },
    { logits: [-Infinity], expected: [-Infinity] },
  ])('logSoftmax($logits)', ({ logits, expected }) => {
    expect([...logSoftmax(Float32Array.from(logits))]).toEqual(closeTo(expected));
  });

  test.prop([
    fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e4, max: 1e4 }), {
      minLength: 1,
      maxLength: 64,
    }),
  ])('sums to 1 and agrees with exp(logSoftmax)', logits => {
    const row = Float32Array.from(logits);
    const probabilities = softmax(row);
    expect(probabilities.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 5);
    const logProbabilities = logSoftmax(row);
    for (let i = 0; i < row.length; i++)
      expect(Math.exp(logProbabilities[i])).toBeCloseTo(probabilities[i], 5);
  });
});

describe('argmax', () => {
  it.each([
    { logits: [0.1, 0.4, 0.4, 0.1], expected: 1 },
    { logits: [5, 5, 5], expected: 0 },
    { logits: [-Infinity, -Infinity, -1], expected: 2 },
    { logits: [-Infinity, -Infinity], expected: 0 },
    { logits: [], expected: -1 },
  ])('argmax($logits) = $expected (lowest index on ties)', ({ logits, expected }) => {
    expect(argmax(Float32Array.from(logits))).toBe(expected);
  });
});
