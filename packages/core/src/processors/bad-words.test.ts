import { describe, expect, it } from 'vitest';
import { processed } from './__fixtures__/logits.js';
import { badWords } from './bad-words.js';

const bannedIds = (row: Float32Array) => [...row.keys()].filter(i => row[i] === -Infinity);

describe('badWords', () => {
  const sequences = [[2], [0, 1, 3], [4, 4]];
  it.each([
    { prefix: [], generated: [], banned: [2] },
    { prefix: [4, 0], generated: [1], banned: [2, 3] },
    { prefix: [0, 1], generated: [], banned: [2, 3] }, // the prefix counts (Hugging Face)
    { prefix: [], generated: [0, 1, 0], banned: [2] },
    { prefix: [], generated: [4], banned: [2, 4] },
  ])('after $prefix + $generated bans $banned', ({ prefix, generated, banned }) => {
    expect(
      bannedIds(processed(badWords(sequences), new Float32Array(5), prefix, generated)),
    ).toEqual(banned);
  });

  it.each([
    [[[]], /non-empty/],
    [[[1, -1]], /token id/],
    ['nope', /array/],
  ])('rejects %j', (value, message) => {
    expect(() => badWords(value as number[][])).toThrow(message);
  });
});
