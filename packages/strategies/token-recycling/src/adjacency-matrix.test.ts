import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AdjacencyMatrix } from './adjacency-matrix.js';

/** Reference top-k: sort by value descending, lower id first among ties. */
function referenceTopK(values: number[], k: number): number[] {
  return values
    .map((value, id) => ({ value, id }))
    .sort((a, b) => b.value - a.value || a.id - b.id)
    .slice(0, k)
    .map(({ id }) => id);
}

describe('AdjacencyMatrix', () => {
  it('records the top-k ids of a logits row, best first', () => {
    const matrix = new AdjacencyMatrix(6, 3);
    const logits = Float32Array.from([9, 9, 0.1, 0.5, 0.3, 0.9, 0.2, 0.7, 0.4, 0.6, 0.8, 0.0]);
    matrix.record(4, logits, 6); // second row: [0.2, 0.7, 0.4, 0.6, 0.8, 0.0]
    expect(Array.from(matrix.candidates.subarray(12, 15))).toEqual([4, 1, 3]);
    expect(matrix.get(4, 0)).toBe(4);
    expect(matrix.get(3, 0)).toBe(-1); // never filled
    expect(matrix.byteLength).toBe(6 * 3 * 4 + 6);
    matrix.clear();
    expect(matrix.get(4, 0)).toBe(-1);
  });

  test.prop([
    fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 8, maxLength: 40 }),
    fc.integer({ min: 1, max: 8 }),
  ])('equals a sorted reference, ties to the lower id', (values, k) => {
    const matrix = new AdjacencyMatrix(values.length, k);
    matrix.record(0, Float32Array.from(values), 0);
    expect(Array.from(matrix.candidates.subarray(0, k))).toEqual(referenceTopK(values, k));
  });
});
