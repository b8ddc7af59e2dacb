import { describe, expect, it } from 'vitest';
import { NgramPool } from './ngram-pool.js';

describe('NgramPool', () => {
  it('keeps at most G continuations per key, least recently used first (the official LRU policy)', () => {
    const pool = new NgramPool(2, 2);
    pool.add(1, [2, 3]);
    pool.add(1, [4, 5]);
    expect(pool.get(1)).toEqual([
      [2, 3],
      [4, 5],
    ]);
    pool.add(1, [2, 3]); // refresh: moves to the back
    expect(pool.get(1)).toEqual([
      [4, 5],
      [2, 3],
    ]);
    pool.add(1, [6, 7]); // full: the front goes
    expect(pool.get(1)).toEqual([
      [2, 3],
      [6, 7],
    ]);
    expect(pool.get(9)).toEqual([]);
  });

  it('ignores continuations of the wrong length and a zero capacity', () => {
    const pool = new NgramPool(2, 3);
    pool.add(1, [2]);
    expect(pool.size).toBe(0);
    const none = new NgramPool(2, 0);
    none.add(1, [2, 3]);
    expect(none.get(1)).toEqual([]);
  });

  it('addAll adds every n-gram of a sequence (fill_pool_with_prompt)', () => {
    const pool = new NgramPool(2, 4);
    pool.addAll([1, 2, 3, 1, 2, 4]);
    expect(pool.get(1)).toEqual([
      [2, 3],
      [2, 4],
    ]);
    expect(pool.get(2)).toEqual([[3, 1]]);
    expect(pool.get(3)).toEqual([[1, 2]]);
  });
});
