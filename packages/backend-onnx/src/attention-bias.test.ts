import { describe, expect, it } from 'vitest';
import { MASKED, fillAttentionBias, fillDepths } from './attention-bias';

const M = MASKED;

function bias(past: number, parents: number[] | null, rows: number) {
  const values = new Float32Array(rows * (past + rows)).fill(123); // garbage: every cell must be written
  const depths = new Int32Array(rows);
  fillAttentionBias(values, depths, past, parents === null ? null : Int32Array.from(parents));
  const matrix = [];
  for (let row = 0; row < rows; row++)
    matrix.push([...values.subarray(row * (past + rows), (row + 1) * (past + rows))]);
  return { matrix, depths: [...depths] };
}

describe('fillAttentionBias', () => {
  it('builds a causal mask for a chain after the past', () => {
    expect(bias(2, null, 3)).toEqual({
      matrix: [
        [0, 0, 0, M, M],
        [0, 0, 0, 0, M],
        [0, 0, 0, 0, 0],
      ],
      depths: [0, 1, 2],
    });
  });

  it('lets each tree row see the past, its ancestors and itself', () => {
    // 0 ─┬─ 1 ── 3
    //    └─ 2
    // 4 (second root)
    expect(bias(1, [-1, 0, 0, 1, -1], 5)).toEqual({
      matrix: [
        [0, 0, M, M, M, M],
        [0, 0, 0, M, M, M],
        [0, 0, M, 0, M, M],
        [0, 0, 0, M, 0, M],
        [0, M, M, M, M, 0],
      ],
      depths: [0, 1, 1, 2, 0],
    });
  });

  it('handles an empty past', () => {
    expect(bias(0, [-1, 0], 2).matrix).toEqual([
      [0, M],
      [0, 0],
    ]);
  });
});

describe('fillDepths', () => {
  it.each([
    { parents: null, expected: [0, 1, 2] },
    { parents: [-1, -1, 0], expected: [0, 0, 1] },
    { parents: [-1, 0, 1], expected: [0, 1, 2] },
  ])('parents $parents → depths $expected', ({ parents, expected }) => {
    const depths = new Int32Array(3);
    fillDepths(depths, parents === null ? null : Int32Array.from(parents));
    expect([...depths]).toEqual(expected);
  });
});
