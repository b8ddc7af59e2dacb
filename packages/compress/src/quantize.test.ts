import { fc, test } from '@fast-check/vitest';
import { BackendError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import type { Alphabet } from './alphabet.js';
import { mixPrediction } from './match-model.js';
import { accumulate, exp2Table, quantizeLogits, quantizeScratch } from './quantize.js';

/** An alphabet of `vocabSize` tokens where `uncodable` have no bytes, plus `escapes` escape symbols. */
function alphabetOf(vocabSize: number, uncodable: readonly number[] = [], escapes = 0): Alphabet {
  const codable = new Uint8Array(vocabSize).fill(1);
  for (const token of uncodable) codable[token] = 0;
  return {
    vocabSize,
    symbolCount: vocabSize + escapes,
    codable,
    codableCount: vocabSize - uncodable.length,
    symbolBytes: [],
    byteSymbol: new Int32Array(256),
    dummyPrefix: false,
    hash: 0,
  };
}

describe('quantizeLogits', () => {
  it('uses 2^(-r/16) in 28-bit fixed point', () => {
    exp2Table.forEach((value, r) =>
      expect(Math.abs(value - 2 ** (28 - r / 16))).toBeLessThanOrEqual(0.5),
    );
  });

  test.prop([
    fc.array(fc.float({ min: -40, max: 40, noNaN: true }), { minLength: 2, maxLength: 64 }),
    fc.integer({ min: 12, max: 24 }),
    fc.integer({ min: 0, max: 3 }),
  ])(
    'sums to 2^precision, ≥ 1 for codable tokens and escapes, 0 for tokens without bytes',
    (values, precision, escapes) => {
      const logits = Float32Array.from(values);
      const alphabet = alphabetOf(logits.length, [0], escapes);
      const frequencies = quantizeLogits(logits, alphabet, precision, quantizeScratch(alphabet));
      expect(frequencies.reduce((a, b) => a + b, 0)).toBe(2 ** precision);
      expect(frequencies[0]).toBe(0);
      for (let symbol = 1; symbol < alphabet.symbolCount; symbol++)
        expect(frequencies[symbol]).toBeGreaterThanOrEqual(1);
      // Order is kept (the argmax also takes the rounding remainder).
      for (let a = 1; a < logits.length; a++)
        for (let b = 1; b < logits.length; b++)
          if (logits[a] > logits[b] + 0.1)
            expect(frequencies[a]).toBeGreaterThanOrEqual(frequencies[b]);
    },
  );

  it.each([
    { logits: [0, 0, 0, 0], expected: [0.25, 0.25, 0.25, 0.25] },
    { logits: [Math.log(3), 0, -Infinity, 0], expected: [0.6, 0.2, 0, 0.2] },
  ])('follows softmax within the 1/16-bit grid: $logits', ({ logits, expected }) => {
    const alphabet = alphabetOf(logits.length);
    const frequencies = quantizeLogits(
      Float32Array.from(logits),
      alphabet,
      16,
      quantizeScratch(alphabet),
    );
    frequencies.forEach((frequency, i) => expect(frequency / 2 ** 16).toBeCloseTo(expected[i], 2));
  });

  it('is a pure function of the logits (same table twice, reused buffers)', () => {
    const alphabet = alphabetOf(5);
    const scratch = quantizeScratch(alphabet);
    const logits = Float32Array.of(1.5, -2, 0.25, 3, 3);
    const first = [...quantizeLogits(logits, alphabet, 16, scratch)];
    quantizeLogits(Float32Array.of(9, 9, 9, 9, 9), alphabet, 16, scratch);
    expect([...quantizeLogits(logits, alphabet, 16, scratch)]).toEqual(first);
  });

  it('rejects NaN logits with a BackendError', () => {
    const alphabet = alphabetOf(3);
    expect(() =>
      quantizeLogits(Float32Array.of(0, Number.NaN, 1), alphabet, 16, quantizeScratch(alphabet)),
    ).toThrow(BackendError);
  });
});

describe('mixPrediction', () => {
  test.prop([
    fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 2, maxLength: 64 }),
    fc.nat(),
    fc.double({ min: 0, max: 0.99, noNaN: true }),
  ])(
    'keeps the total and every codable token ≥ 1, and raises the predicted token',
    (values, pick, probability) => {
      const logits = Float32Array.from(values);
      const alphabet = alphabetOf(logits.length, [0]);
      const frequencies = quantizeLogits(logits, alphabet, 16, quantizeScratch(alphabet));
      const token = 1 + (pick % (logits.length - 1));
      const before = frequencies[token];
      mixPrediction(frequencies, 2 ** 16, token, probability);
      expect(frequencies.reduce((a, b) => a + b, 0)).toBe(2 ** 16);
      expect(frequencies[0]).toBe(0);
      for (let symbol = 1; symbol < logits.length; symbol++)
        expect(frequencies[symbol]).toBeGreaterThanOrEqual(1);
      expect(frequencies[token]).toBeGreaterThanOrEqual(
        Math.max(before, Math.floor(probability * 2 ** 16) - logits.length),
      );
      const cumulative = accumulate(frequencies, new Uint32Array(logits.length + 1));
      expect(cumulative[logits.length]).toBe(2 ** 16);
    },
  );
});
