import { InvalidArgumentError } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { spladeMaxPool } from './splade-pooling.js';
import { pruneTopK, sparseDot, sparseFromEntries } from './sparse-vector.js';

describe('spladeMaxPool', () => {
  // 3 rows × 4 terms
  const logits = Float32Array.from(
    [
      [1, -2, 0.5, 0],
      [3, -1, -4, 0],
      [-1, 2, 0.25, 0],
    ].flat(),
  );

  it('is max over rows of log(1 + relu(z))', () => {
    const weights = spladeMaxPool(logits, 4);
    expect(Array.from(weights)).toEqual(
      [Math.log1p(3), Math.log1p(2), Math.log1p(0.5), 0].map(value => expect.closeTo(value, 6)),
    );
  });

  it('skips masked rows', () => {
    const weights = spladeMaxPool(logits, 4, { mask: [1, 0, 1] });
    expect(Array.from(weights)).toEqual(
      [Math.log1p(1), Math.log1p(2), Math.log1p(0.5), 0].map(value => expect.closeTo(value, 6)),
    );
  });

  it('pools only from `fromRow` on (echo mode)', () => {
    const weights = spladeMaxPool(logits, 4, { fromRow: 2 });
    expect(Array.from(weights)).toEqual(
      [0, Math.log1p(2), Math.log1p(0.25), 0].map(value => expect.closeTo(value, 6)),
    );
  });

  it('rejects logits that are not whole rows and masks of the wrong length', () => {
    expect(() => spladeMaxPool(logits, 5)).toThrow(InvalidArgumentError);
    expect(() => spladeMaxPool(logits, 4, { mask: [1, 1] })).toThrow(InvalidArgumentError);
  });
});

describe('pruneTopK', () => {
  it.each([
    { k: 0, terms: [1, 2, 4] },
    { k: 2, terms: [2, 4] },
    { k: 1, terms: [4] },
  ])('k=$k keeps the largest positive weights, sorted by term', ({ k, terms }) => {
    const vector = pruneTopK(Float32Array.from([0, 0.5, 2, -1, 3]), k);
    expect(Array.from(vector.terms)).toEqual(terms);
  });

  it('breaks ties by the lower term id', () => {
    expect(Array.from(pruneTopK(Float32Array.from([1, 1, 1]), 2).terms)).toEqual([0, 1]);
  });

  it('rejects a negative or fractional k', () => {
    expect(() => pruneTopK(new Float32Array(3), -1)).toThrow(InvalidArgumentError);
    expect(() => pruneTopK(new Float32Array(3), 1.5)).toThrow(InvalidArgumentError);
  });
});

describe('sparseDot', () => {
  it('multiplies matching terms only', () => {
    const a = sparseFromEntries([
      [1, 2],
      [5, 3],
      [9, 1],
    ]);
    const b = sparseFromEntries([
      [0, 7],
      [5, 4],
      [9, 0.5],
      [12, 8],
    ]);
    expect(sparseDot(a, b)).toBeCloseTo(3 * 4 + 1 * 0.5, 6);
    expect(sparseDot(b, a)).toBeCloseTo(12.5, 6);
  });

  it('adds repeated entries when building', () => {
    const vector = sparseFromEntries([
      [3, 1],
      [1, 1],
      [3, 1],
    ]);
    expect(Array.from(vector.terms)).toEqual([1, 3]);
    expect(Array.from(vector.weights)).toEqual([1, 2]);
  });
});
