import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CopyIndex } from './copy-index.js';

/** Brute force: start positions s (oldest first) whose γ-gram equals the last γ tokens and has a continuation. */
function bruteForce(tokens: readonly number[], gamma: number): number[] {
  if (tokens.length < gamma) return [];
  const suffix = tokens.slice(tokens.length - gamma);
  const found: number[] = [];
  for (let s = 0; s + gamma < tokens.length; s++) {
    if (suffix.every((token, i) => tokens[s + i] === token)) found.push(s);
  }
  return found;
}

function indexOf(tokens: readonly number[], gamma: number): CopyIndex {
  const index = new CopyIndex(gamma, 4); // tiny capacity: exercises growth
  index.sync(tokens);
  return index;
}

const verified = (index: CopyIndex) =>
  index.candidates().filter(start => index.matchesSuffix(start));

describe('CopyIndex', () => {
  it('finds earlier occurrences of the last γ tokens, oldest first, and copies what followed', () => {
    const index = indexOf([1, 2, 3, 9, 8, 1, 2, 3, 7, 1, 2, 3], 3);
    expect(verified(index)).toEqual([0, 5]);
    const out: number[] = [];
    expect(index.copy(0, 4, out)).toBe(4);
    expect(out).toEqual([9, 8, 1, 2]);
    out.length = 0;
    expect(index.copy(5, 10, out)).toBe(4); // stops at the end of the history
    expect(out).toEqual([7, 1, 2, 3]);
  });

  it('does not index the current suffix itself (no continuation yet)', () => {
    expect(verified(indexOf([5, 6, 7], 3))).toEqual([]);
    expect(verified(indexOf([4, 4, 4, 4], 3))).toEqual([0]); // overlapping occurrence
  });

  it('keeps the rolling hash equal to a hash computed from scratch', () => {
    const tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9];
    const index = new CopyIndex(4);
    tokens.forEach((token, i) => {
      index.push(token);
      if (i >= 3) expect(index.suffixHash).toBe(index.hashAt(i - 3));
    });
  });

  it('keeps closed segments searchable but never matches across a boundary', () => {
    const index = new CopyIndex(2);
    index.sync([1, 2, 3, 4]);
    index.closeSegment();
    index.sync([9, 1, 2]);
    expect(verified(index)).toEqual([0]);
    const out: number[] = [];
    index.copy(0, 10, out);
    expect(out).toEqual([3, 4]); // stops at the end of the first segment
    index.sync([9, 1, 2, 4, 9]);
    // [4 9] spans the boundary in the flat array (…3 4 | 9 1 2…) and must not be found.
    expect(verified(index)).toEqual([]);
  });

  it('re-indexes the current segment when the context is not an extension', () => {
    const index = indexOf([1, 2, 1, 2, 1], 2);
    index.sync([7, 7, 7]);
    expect(index.length).toBe(3);
    expect(verified(index)).toEqual([0]);
  });

  test.prop([
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 60 }),
    fc.integer({ min: 1, max: 4 }),
  ])('agrees with a brute-force scan', (tokens, gamma) => {
    expect(verified(indexOf(tokens, gamma))).toEqual(bruteForce(tokens, gamma));
  });

  test.prop([
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }),
  ])('an incremental index equals a rebuild from scratch after any re-sync', (first, second) => {
    const reused = indexOf(first, 3);
    for (let i = 1; i <= second.length; i++) reused.sync(second.slice(0, i));
    expect(verified(reused)).toEqual(verified(indexOf(second, 3)));
  });
});
