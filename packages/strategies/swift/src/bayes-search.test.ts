import { seededRandom } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { BayesSearch } from './bayes-search.js';

describe('BayesSearch (GP-UCB)', () => {
  it('suggests uniformly at random before any observation', () => {
    const search = new BayesSearch(3);
    const point = search.suggest(seededRandom(1));
    expect(point).toHaveLength(3);
    for (const value of point) expect(value).toBeGreaterThanOrEqual(0);
  });

  it('moves toward the maximum of a smooth objective', () => {
    const random = seededRandom(2);
    const search = new BayesSearch(2, 0.5, 500);
    const objective = (p: Float64Array) => -((p[0] - 0.8) ** 2) - (p[1] - 0.2) ** 2;
    for (let i = 0; i < 25; i++) {
      const point =
        i < 5 ? Float64Array.from([random.next(), random.next()]) : search.suggest(random);
      search.register(point, objective(point));
    }
    const next = search.suggest(random);
    expect(Math.abs(next[0] - 0.8)).toBeLessThan(0.25);
    expect(Math.abs(next[1] - 0.2)).toBeLessThan(0.25);
  });

  it('is deterministic for a seed', () => {
    const run = () => {
      const random = seededRandom(3);
      const search = new BayesSearch(3);
      for (let i = 0; i < 6; i++) {
        const point = search.suggest(random);
        search.register(point, point[0] - point[2]);
      }
      return Array.from(search.suggest(random));
    };
    expect(run()).toEqual(run());
  });
});
