import { seededRandom } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { buildAdedStoreFromTokens } from './aded-store.js';
import { C1, C2, puct, runMcts } from './mcts.js';

describe('PUCT (mcts_sub.rs putc_score)', () => {
  it.each([
    {
      score: 3,
      visits: 2,
      prior: 0.5,
      parent: 10,
      expected: 1.5 + ((32 + Math.log(19 / 8)) * 0.5 * Math.sqrt(10)) / 3,
    },
    { score: 0, visits: 1, prior: 0, parent: 1, expected: 0 },
    { score: 4, visits: 4, prior: 1, parent: 0, expected: 1 },
  ])(
    'Q/n + (c1 + ln((N + c2 + 1)/c2))·p·√N/(1 + n) = $expected',
    ({ score, visits, prior, parent, expected }) => {
      expect(puct(score, visits, prior, parent)).toBeCloseTo(expected, 6);
    },
  );

  it('is infinite for an unvisited child and uses c1 = 32, c2 = 8', () => {
    expect(puct(0, 0, 0.3, 5)).toBe(Infinity);
    expect([C1, C2]).toEqual([32, 8]);
  });
});

describe('runMcts', () => {
  const store = buildAdedStoreFromTokens([
    [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 7, 1, 2, 3, 9, 9, 1, 2, 8, 4, 5, 6],
  ]);

  it('returns the most visited root paths, each extended by its best successor, root token dropped', () => {
    const sequences = runMcts(store, 1, 2, {
      iterations: 150,
      sequenceLength: 4,
      topSequences: 24,
      random: seededRandom(1),
    });
    expect(sequences.length).toBeGreaterThan(0);
    expect(sequences[0][0]).toBe(3); // P(3 | 1 2) = 3/4 dominates the visits
    for (const sequence of sequences) expect(sequence.length).toBeLessThanOrEqual(4);
    expect(sequences).toContainEqual([3, 4, 5, 6]);
  });

  it('is deterministic for a seed', () => {
    const run = (seed: number) =>
      runMcts(store, 1, 2, {
        iterations: 150,
        sequenceLength: 4,
        topSequences: 24,
        random: seededRandom(seed),
      });
    expect(run(5)).toEqual(run(5));
  });

  it('returns nothing for a bigram the store has never seen', () => {
    expect(
      runMcts(store, 40, 41, {
        iterations: 10,
        sequenceLength: 4,
        topSequences: 24,
        random: seededRandom(1),
      }),
    ).toEqual([]);
  });
});
