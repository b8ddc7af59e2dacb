import { describe, expect, it } from 'vitest';
import { seededRandom } from '../sampling/index.js';
import { rejectionSampling } from './verifiers.js';

const p = Float32Array.from([0.05, 0.3, 0.1, 0.25, 0.2, 0.1]);
const q = Float32Array.from([0.3, 0.1, 0.25, 0.05, 0.2, 0.1]);

function totalVariation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / 2;
}

/** Draws k distinct tokens from q without replacement (Gumbel-top-k would do the same). */
function drawWithoutReplacement(
  weights: Float32Array,
  k: number,
  random: { next(): number },
): number[] {
  const left = Float64Array.from(weights);
  const picked: number[] = [];
  for (let i = 0; i < k; i++) {
    let total = 0;
    for (const w of left) total += w;
    let u = random.next() * total;
    let token = 0;
    while (token < left.length - 1 && u >= left[token]) u -= left[token++];
    picked.push(token);
    left[token] = 0;
  }
  return picked;
}

describe('rejectionSampling verifier: one step emits exactly the target distribution (10^6 draws, TV < 0.005)', () => {
  const verifier = rejectionSampling();
  const draws = 1_000_000;

  it.each([
    { title: 'speculative sampling: one child drawn from q (P2)', k: 1, withQ: true },
    {
      title: 'recursive rejection: 3 children drawn from q without replacement (P3)',
      k: 3,
      withQ: true,
    },
    { title: 'deterministic drafts: 1 fixed child, no q (P4)', k: 1, withQ: false },
    {
      title: 'deterministic drafts: 2 children from q but verified as one-hot (P4)',
      k: 2,
      withQ: false,
    },
  ])('$title', ({ k, withQ }) => {
    const random = seededRandom(1234 + k);
    const counts = new Float64Array(p.length);
    let accepted = 0;
    for (let n = 0; n < draws; n++) {
      const children = withQ || k > 1 ? drawWithoutReplacement(q, k, random) : [3];
      const decision = verifier.step({
        probabilities: p,
        childTokens: children,
        q: withQ ? q : undefined,
        greedy: false,
        random,
      });
      const token = typeof decision === 'number' ? children[decision] : decision.token;
      if (typeof decision === 'number') accepted += 1;
      counts[token] += 1;
    }
    const empirical = Array.from(counts, count => count / draws);
    expect(totalVariation(empirical, p)).toBeLessThan(0.005);
    expect(accepted).toBeGreaterThan(0);
  });

  it('speculative sampling accepts with probability sum(min(p, q)) (Leviathan et al., Theorem 3.5)', () => {
    const random = seededRandom(99);
    let accepted = 0;
    const trials = 200_000;
    for (let n = 0; n < trials; n++) {
      const [child] = drawWithoutReplacement(q, 1, random);
      if (
        typeof verifier.step({
          probabilities: p,
          childTokens: [child],
          q,
          greedy: false,
          random,
        }) === 'number'
      )
        accepted++;
    }
    const expected = Array.from(p).reduce((sum, value, i) => sum + Math.min(value, q[i]), 0);
    expect(accepted / trials).toBeCloseTo(expected, 2);
  });

  it('at temperature 0 it is greedy match', () => {
    const random = seededRandom(1);
    expect(verifier.step({ probabilities: p, childTokens: [3, 1], greedy: true, random })).toBe(1);
    expect(verifier.step({ probabilities: p, childTokens: [3, 4], greedy: true, random })).toEqual({
      token: 1,
    });
  });
});
