import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  ArithmeticDecoder,
  ArithmeticEncoder,
  BitReader,
  BitWriter,
  scaleRange,
} from './range-coder.js';

/** A cumulative table [symbols + 1] with total 2^precision from positive weights. */
function tableOf(weights: readonly number[], precision: number): Uint32Array {
  const total = 2 ** precision;
  const sum = weights.reduce((a, b) => a + b, 0);
  const frequencies = weights.map(
    weight => 1 + Math.floor((weight * (total - weights.length)) / sum),
  );
  frequencies[0] += total - frequencies.reduce((a, b) => a + b, 0);
  const cumulative = new Uint32Array(weights.length + 1);
  frequencies.forEach((frequency, i) => (cumulative[i + 1] = cumulative[i] + frequency));
  return cumulative;
}

describe('scaleRange', () => {
  test.prop([
    fc.integer({ min: 1, max: 2 ** 32 }),
    fc.integer({ min: 8, max: 24 }),
    fc.double({ min: 0, max: 1, noNaN: true }),
  ])('is floor(range · c / 2^p) exactly (BigInt reference)', (range, precision, fraction) => {
    const cumulative = Math.floor(fraction * 2 ** precision);
    const expected = (BigInt(range) * BigInt(cumulative)) >> BigInt(precision);
    expect(scaleRange(range, cumulative, precision)).toBe(Number(expected));
  });
});

describe('BitWriter / BitReader', () => {
  it('writes MSB first, truncates, and reads zeros past the end', () => {
    const writer = new BitWriter();
    for (const bit of [1, 0, 1, 1, 0, 0, 1, 0, 1]) writer.write(bit);
    writer.truncate(7);
    writer.write(1);
    const bytes = writer.finish();
    expect([...bytes]).toEqual([0b10110011]);
    const reader = new BitReader(bytes, 2, 3);
    expect([reader.read(), reader.read(), reader.read(), reader.read()]).toEqual([1, 1, 0, 0]);
  });
});

describe('ArithmeticEncoder / ArithmeticDecoder', () => {
  test.prop(
    [
      fc.integer({ min: 8, max: 24 }),
      fc.array(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 40 }), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.array(fc.nat(), { maxLength: 300 }),
    ],
    { numRuns: 200 },
  )(
    'round-trips any symbols and stays within 2 bits (+ 1e-3 per symbol) of the ideal length',
    (precision, tableWeights, picks) => {
      const tables = tableWeights.map(weights => tableOf(weights, precision));
      const symbols = picks.map((pick, i) => pick % (tables[i % tables.length].length - 1));
      const encoder = new ArithmeticEncoder(precision);
      let ideal = 0;
      symbols.forEach((symbol, i) => {
        const table = tables[i % tables.length];
        encoder.encode(table[symbol], table[symbol + 1]);
        ideal += -Math.log2((table[symbol + 1] - table[symbol]) / 2 ** precision);
      });
      const { bytes, bitLength } = encoder.finish();
      expect(bitLength).toBeLessThanOrEqual(Math.ceil(ideal + 2 + symbols.length * 1e-3));
      const decoder = new ArithmeticDecoder(precision, new BitReader(bytes, 0, bitLength));
      expect(symbols.map((_, i) => decoder.decode(tables[i % tables.length]))).toEqual(symbols);
    },
  );

  it('restores a snapshot exactly (tentative symbols of Equal-Info Windows)', () => {
    const table = tableOf([5, 1, 1, 9], 12);
    const reference = new ArithmeticEncoder(12);
    const tentative = new ArithmeticEncoder(12);
    for (const symbol of [0, 3, 3, 1]) {
      reference.encode(table[symbol], table[symbol + 1]);
      tentative.encode(table[symbol], table[symbol + 1]);
    }
    const state = tentative.snapshot();
    for (const symbol of [1, 2, 1, 2, 1]) tentative.encode(table[symbol], table[symbol + 1]);
    tentative.restore(state);
    reference.encode(table[2], table[3]);
    tentative.encode(table[2], table[3]);
    expect(tentative.finish()).toEqual(reference.finish());
  });

  it('rejects a zero-frequency symbol', () => {
    expect(() => new ArithmeticEncoder(12).encode(5, 5)).toThrow(/zero frequency/);
  });
});
