import { rejectionSampling, seededRandom } from '@decodekit/core';
import { describe, expect, it } from 'vitest';
import { acceptanceMass, kSeqSelect, solveRho } from './k-seq.js';

const p = Float32Array.from([0.05, 0.3, 0.1, 0.25, 0.2, 0.1]);
const q = Float32Array.from([0.3, 0.1, 0.25, 0.05, 0.2, 0.1]);

function totalVariation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / 2;
}

function iidDrafts(weights: Float32Array, k: number, random: { next(): number }): number[] {
  return Array.from({ length: k }, () => {
    let u = random.next();
    let token = 0;
    while (token < weights.length - 1 && u >= weights[token]) u -= weights[token++];
    return token;
  });
}

function randomDistribution(size: number, random: { next(): number }, sharpness = 2): Float32Array {
  const weights = Float64Array.from({ length: size }, () =>
    Math.exp(sharpness * 3 * (random.next() - 0.5)),
  );
  const total = weights.reduce((sum, w) => sum + w, 0);
  return Float32Array.from(weights, w => w / total);
}

describe('solveRho', () => {
  it('k = 1 gives ρ = 1 exactly', () => {
    expect(solveRho(p, q, 1)).toBe(1);
  });

  it.each([2, 3, 4, 8])('k = %i: ρ* ∈ [1, k] solves 1 − (1 − β)^k = ρβ', k => {
    const random = seededRandom(k);
    for (let trial = 0; trial < 50; trial++) {
      const target = randomDistribution(12, random);
      const draft = randomDistribution(12, random);
      const rho = solveRho(target, draft, k);
      const beta = acceptanceMass(target, draft, rho);
      expect(rho).toBeGreaterThanOrEqual(1);
      expect(rho).toBeLessThanOrEqual(k);
      expect(1 - (1 - beta) ** k).toBeCloseTo(rho * beta, 9);
    }
  });

  it('identical distributions: every draft is accepted (ρ = 1, β = 1)', () => {
    expect(solveRho(p, p, 4)).toBe(1);
    expect(acceptanceMass(p, p, 1)).toBeCloseTo(1, 6);
  });

  it('rejects a non-integer k', () => {
    expect(() => solveRho(p, q, 1.5)).toThrow(/positive integer/);
  });
});

describe('kSeqSelect: one step emits exactly the target distribution (10^6 draws, TV < 0.005)', () => {
  const draws = 1_000_000;
  it.each([1, 2, 4])('k = %i i.i.d. drafts from q', k => {
    const random = seededRandom(77 + k);
    const counts = new Float64Array(p.length);
    let accepted = 0;
    const rho = solveRho(p, q, k);
    for (let n = 0; n < draws; n++) {
      const drafts = iidDrafts(q, k, random);
      const decision = kSeqSelect({ probabilities: p, q, drafts, random, rho });
      if (typeof decision === 'number') accepted++;
      counts[typeof decision === 'number' ? drafts[decision] : decision.token]++;
    }
    expect(
      totalVariation(
        Array.from(counts, c => c / draws),
        p,
      ),
    ).toBeLessThan(0.005);
    // K-SEQ accepts with probability 1 − (1 − β(ρ*))^k = ρ*β(ρ*) = Σ min(ρ* q, p).
    const expected = Array.from(p).reduce((sum, value, x) => sum + Math.min(rho * q[x], value), 0);
    expect(accepted / draws).toBeCloseTo(expected, 2);
  });

  it('a draft with q = 0 cannot be accepted and the output still follows p', () => {
    const sparseQ = Float32Array.from([0.5, 0.5, 0, 0, 0, 0]);
    const random = seededRandom(5);
    const counts = new Float64Array(p.length);
    const trials = 400_000;
    const rho = solveRho(p, sparseQ, 3);
    for (let n = 0; n < trials; n++) {
      const drafts = iidDrafts(sparseQ, 3, random);
      const decision = kSeqSelect({ probabilities: p, q: sparseQ, drafts, random, rho });
      counts[typeof decision === 'number' ? drafts[decision] : decision.token]++;
    }
    expect(
      totalVariation(
        Array.from(counts, c => c / trials),
        p,
      ),
    ).toBeLessThan(0.006);
  });
});

describe('K-SEQ versus speculative sampling', () => {
  it('k = 1 makes the same decision as core rejectionSampling() on the same random stream', () => {
    const core = rejectionSampling();
    const source = seededRandom(2024);
    for (let trial = 0; trial < 2000; trial++) {
      const target = randomDistribution(16, source, 3);
      const draft = randomDistribution(16, source, 3);
      const [x] = iidDrafts(draft, 1, source);
      const seed = Math.floor(source.next() * 1e9);
      const ours = kSeqSelect({
        probabilities: target,
        q: draft,
        drafts: [x],
        random: seededRandom(seed),
      });
      const theirs = core.step({
        probabilities: target,
        childTokens: [x],
        q: draft,
        greedy: false,
        random: seededRandom(seed),
      });
      expect(ours).toEqual(theirs);
    }
  });

  it('accepts at least as often as speculative sampling and ≥ (1 − 1/e) of the coupling bound Σ min(p, 1 − (1 − q)^k)', () => {
    const random = seededRandom(31);
    for (let trial = 0; trial < 200; trial++) {
      const target = randomDistribution(10, random, 3);
      const draft = randomDistribution(10, random, 3);
      for (const k of [2, 4, 8]) {
        const rho = solveRho(target, draft, k);
        const kSeq = Array.from(target).reduce(
          (sum, value, x) => sum + Math.min(rho * draft[x], value),
          0,
        );
        const sps = Array.from(target).reduce(
          (sum, value, x) => sum + Math.min(draft[x], value),
          0,
        );
        const bound = Array.from(target).reduce(
          (sum, value, x) => sum + Math.min(value, 1 - (1 - draft[x]) ** k),
          0,
        );
        expect(kSeq).toBeGreaterThanOrEqual(sps - 1e-9);
        expect(kSeq).toBeLessThanOrEqual(bound + 1e-6);
        expect(kSeq).toBeGreaterThanOrEqual((1 - 1 / Math.E) * bound - 1e-9);
      }
    }
  });
});
