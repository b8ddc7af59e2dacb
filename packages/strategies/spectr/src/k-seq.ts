import { InvalidArgumentError, sampleFromProbabilities } from '@decodekit/core';
import type { RandomSource } from '@decodekit/core';

/**
 * β(ρ) = Σ_x min(q(x), p(x) / ρ): the probability that one draft X ~ q is accepted when K-SEQ accepts
 * it with probability min(1, p(X) / (ρ q(X))). (SpecTr writes the draft as p and the target as q; here p
 * is the target and q the draft, as everywhere in decodekit.)
 */
export function acceptanceMass(p: ArrayLike<number>, q: ArrayLike<number>, rho: number): number {
  let beta = 0;
  for (let x = 0; x < p.length; x++) beta += Math.min(q[x], p[x] / rho);
  return beta;
}

/**
 * ρ* of K-SEQ (SpecTr, Sun et al., 2023, https://arxiv.org/abs/2310.15141): the root in [1, k] of
 * 1 − (1 − β(ρ))^k = ρ β(ρ). The left side decreases and the right side increases in ρ, the difference
 * is ≥ 0 at ρ = 1 and ≤ 0 at ρ = k, so bisection finds it. k = 1 gives ρ = 1 exactly (speculative
 * sampling).
 */
export function solveRho(p: ArrayLike<number>, q: ArrayLike<number>, k: number): number {
  if (!Number.isInteger(k) || k < 1) {
    throw new InvalidArgumentError({
      argument: 'k',
      message: `must be a positive integer, got ${k}.`,
    });
  }
  if (k === 1) return 1;
  const gap = (rho: number) => {
    const beta = acceptanceMass(p, q, rho);
    return 1 - (1 - beta) ** k - rho * beta;
  };
  if (!(gap(1) > 0)) return 1;
  let low = 1;
  let high = k;
  for (let iteration = 0; iteration < 60 && high - low > 1e-13; iteration++) {
    const middle = (low + high) / 2;
    if (gap(middle) > 0) low = middle;
    else high = middle;
  }
  return low;
}

/** One K-SEQ selection. */
export interface KSeqArgs {
  /** Processed target distribution at the node. [vocab] */
  probabilities: Float32Array;
  /** Draft distribution every draft at the node was drawn from. [vocab] */
  q: Float32Array;
  /** The k draft tokens at the node, i.i.d. from q, in draft order (repeats included). */
  drafts: readonly number[];
  random: RandomSource;
  /** ρ* for (probabilities, q, drafts.length) when already known; solved here otherwise. */
  rho?: number;
}

/**
 * K-SEQ draft selection (SpecTr, Algorithm "K-SEQ"): with ρ = ρ*, scan the drafts X_1..X_k and accept the
 * first with probability min(1, p(X_i) / (ρ q(X_i))); when none is accepted, sample from the residual
 * p_res = norm(max(0, p − ρ q)).
 *
 * Why the residual is that: the acceptance mass of token x over the k tries is
 * Σ_i (1 − β)^(i−1) min(q(x), p(x)/ρ) = (1 − (1 − β)^k) / β · min(q(x), p(x)/ρ) = min(ρ q(x), p(x)) at ρ*,
 * so the residual mass is p(x) − min(ρ q(x), p(x)) = max(0, p(x) − ρ q(x)), which sums to
 * 1 − ρβ = (1 − β)^k, the probability that every draft is rejected. The output follows p exactly. With
 * k = 1, ρ = 1 and this is speculative sampling, drawing the same random numbers as core's
 * `rejectionSampling()`.
 *
 * @returns the index into `drafts` of the accepted draft, or `{ token }` sampled from the residual.
 */
export function kSeqSelect({
  probabilities,
  q,
  drafts,
  random,
  rho: knownRho,
}: KSeqArgs): number | { token: number } {
  const p = Float32Array.from(probabilities);
  const rho = knownRho ?? solveRho(p, q, drafts.length);
  for (let i = 0; i < drafts.length; i++) {
    const x = drafts[i];
    const qx = q[x];
    if (!(qx > 0)) continue; // a draft the drafter gave no mass: it cannot have been drawn
    if (random.next() < Math.min(1, p[x] / (rho * qx))) return i;
  }
  // Residual, computed as core's residual (float32 storage) so that k = 1 matches it bit for bit.
  let total = 0;
  for (let x = 0; x < p.length; x++) total += Math.max(0, p[x] - rho * q[x]);
  if (total > 0) for (let x = 0; x < p.length; x++) p[x] = Math.max(0, p[x] - rho * q[x]) / total;
  return { token: sampleFromProbabilities(p, random) };
}
