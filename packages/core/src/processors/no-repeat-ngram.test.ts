import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { processed } from './__fixtures__/logits.js';
import { noRepeatNgram } from './no-repeat-ngram.js';

/** Hugging Face's `_get_ngrams` + `_get_generated_ngrams`, written the naive way. */
function bannedByReference(tokens: readonly number[], n: number): Set<number> {
  const banned = new Set<number>();
  if (tokens.length + 1 < n) return banned;
  const key = tokens.slice(tokens.length - (n - 1)).join(',');
  for (let start = 0; start + n <= tokens.length; start++) {
    if (tokens.slice(start, start + n - 1).join(',') === key) banned.add(tokens[start + n - 1]);
  }
  return banned;
}

const bannedIds = (row: Float32Array) => [...row.keys()].filter(i => row[i] === -Infinity);

describe('noRepeatNgram', () => {
  it.each([
    { n: 2, prefix: [0, 1, 2, 0], generated: [], banned: [1] },
    { n: 2, prefix: [0, 1], generated: [2, 0], banned: [1] },
    { n: 2, prefix: [0, 1, 0, 2, 0], generated: [], banned: [1, 2] },
    { n: 3, prefix: [0, 1, 2, 0, 1], generated: [], banned: [2] },
    { n: 3, prefix: [0, 1, 2], generated: [0, 2], banned: [] },
    { n: 1, prefix: [3], generated: [1], banned: [1, 3] },
    { n: 4, prefix: [0, 0], generated: [], banned: [] }, // shorter than n - 1
  ])('n=$n after $prefix + $generated bans $banned', ({ n, prefix, generated, banned }) => {
    expect(bannedIds(processed(noRepeatNgram(n), new Float32Array(5), prefix, generated))).toEqual(
      banned,
    );
  });

  it.each([0, -2, 2.5, NaN])('rejects n=%s', n => {
    expect(() => noRepeatNgram(n)).toThrow(/positive integer/);
  });

  test.prop([fc.array(fc.nat(5), { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), fc.nat(60)])(
    'agrees with the naive Hugging Face reference at every step',
    (tokens, n, split) => {
      const processor = noRepeatNgram(n);
      let state = processor.init(tokens.slice(0, split));
      for (let length = Math.min(split, tokens.length); ; length++) {
        const row = new Float32Array(6);
        processor.process(row, state);
        expect(bannedIds(row)).toEqual(
          [...bannedByReference(tokens.slice(0, length), n)].sort((a, b) => a - b),
        );
        if (length === tokens.length) break;
        state = processor.advance(state, tokens[length]);
      }
    },
  );

  test.prop([
    fc.array(fc.nat(4), { maxLength: 30 }),
    fc.array(fc.array(fc.nat(4), { maxLength: 10 }), { maxLength: 5 }),
    fc.integer({ min: 1, max: 3 }),
  ])('forks are independent: advance never mutates the old state', (prefix, branches, n) => {
    const processor = noRepeatNgram(n);
    const root = processor.init(prefix);
    const rootBans = bannedIds(processed(processor, new Float32Array(5), prefix));
    for (const branch of branches) {
      let state = root;
      for (const token of branch) state = processor.advance(state, token);
      const row = new Float32Array(5);
      processor.process(row, state);
      expect(bannedIds(row)).toEqual(
        [...bannedByReference([...prefix, ...branch], n)].sort((a, b) => a - b),
      );
      const again = new Float32Array(5);
      processor.process(again, root);
      expect(bannedIds(again)).toEqual(rootBans);
    }
  });

  it('handles a long history with many distinct n-grams', () => {
    const processor = noRepeatNgram(3);
    const tokens = Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 1009);
    let state = processor.init(tokens.slice(0, 10_000));
    for (const token of tokens.slice(10_000)) state = processor.advance(state, token);
    const row = new Float32Array(1009);
    processor.process(row, state);
    expect(bannedIds(row)).toEqual([...bannedByReference(tokens, 3)].sort((a, b) => a - b));
  });
});
