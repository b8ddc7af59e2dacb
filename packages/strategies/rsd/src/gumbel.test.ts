import { rejectionSampling, seededRandom } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { conditionedGumbel, gumbel, gumbelTopK } from './gumbel.js';

const p = Float32Array.from([0.05, 0.3, 0.1, 0.25, 0.2, 0.1]);
const q = Float32Array.from([0.3, 0.1, 0.25, 0.05, 0.2, 0.1]);

function totalVariation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / 2;
}

describe('gumbelTopK', () => {
  it('ordered pairs follow sequential sampling without replacement: q(a) q(b) / (1 − q(a))', () => {
    const random = seededRandom(3);
    const draws = 300_000;
    const counts = new Float64Array(36);
    for (let n = 0; n < draws; n++) {
      const { tokens } = gumbelTopK(q, 2, random);
      counts[tokens[0] * 6 + tokens[1]]++;
    }
    const exact = Array.from({ length: 36 }, (_, index) => {
      const a = Math.floor(index / 6);
      const b = index % 6;
      return a === b ? 0 : (q[a] * q[b]) / (1 - q[a]);
    });
    expect(
      totalVariation(
        Array.from(counts, c => c / draws),
        exact,
      ),
    ).toBeLessThan(0.005);
  });

  it('never returns a token with q = 0, nor the same token twice; noise off is the top-k', () => {
    const sparse = Float32Array.from([0.6, 0, 0.4, 0]);
    const random = seededRandom(1);
    for (let n = 0; n < 100; n++)
      expect(gumbelTopK(sparse, 4, random).tokens.sort()).toEqual([0, 2]);
    expect(gumbelTopK(q, 3, random, { noise: false }).tokens).toEqual([0, 2, 4]);
  });

  it('Gumbel samples have mean γ ≈ 0.5772', () => {
    const random = seededRandom(8);
    let sum = 0;
    for (let n = 0; n < 200_000; n++) sum += gumbel(random);
    expect(sum / 200_000).toBeCloseTo(0.5772, 1);
  });

  it('conditionedGumbel maps the sibling maximum to the target and keeps the order', () => {
    expect(conditionedGumbel(-1.5, 2, 2)).toBeCloseTo(-1.5, 10);
    const a = conditionedGumbel(-1.5, 2, 1);
    const b = conditionedGumbel(-1.5, 2, 0);
    expect(a).toBeLessThan(-1.5);
    expect(b).toBeLessThan(a);
    // Direct formula −log(exp(−T) − exp(−Z) + exp(−g)).
    expect(a).toBeCloseTo(-Math.log(Math.exp(1.5) - Math.exp(-2) + Math.exp(-1)), 10);
  });
});

describe('recursive rejection over Gumbel-top-k children: one step emits exactly p (10^6 draws, TV < 0.005)', () => {
  it.each([1, 2, 3])('%i children', k => {
    const verifier = rejectionSampling();
    const random = seededRandom(40 + k);
    const draws = 1_000_000;
    const counts = new Float64Array(p.length);
    for (let n = 0; n < draws; n++) {
      const { tokens } = gumbelTopK(q, k, random);
      const decision = verifier.step({
        probabilities: p,
        childTokens: tokens,
        q,
        greedy: false,
        random,
      });
      counts[typeof decision === 'number' ? tokens[decision] : decision.token]++;
    }
    expect(
      totalVariation(
        Array.from(counts, c => c / draws),
        p,
      ),
    ).toBeLessThan(0.005);
  });
});
