import type { RandomSource } from '@decodekit/core';

/** A standard Gumbel sample, −log(−log U). */
export function gumbel(random: RandomSource): number {
  // next() is in [0, 1); keep U away from 0 so the logs stay finite.
  const u = random.next() || Number.MIN_VALUE;
  return -Math.log(-Math.log(u));
}

/**
 * Gumbel-top-k (Vieira, 2014; Kool et al., 2019): perturbs log q(x) with i.i.d. Gumbel noise and keeps the k
 * largest. The kept tokens, in order of their perturbed values, are distributed exactly as k draws from q
 * without replacement. Tokens with q = 0 are never kept, so fewer than k come back when q has fewer
 * non-zero entries. `noise: false` gives the deterministic top-k of q (for greedy decoding).
 *
 * @returns the tokens, best first, and their perturbed values.
 */
export function gumbelTopK(
  q: ArrayLike<number>,
  k: number,
  random: RandomSource,
  { noise = true }: { noise?: boolean } = {},
): { tokens: number[]; keys: number[] } {
  // Partial selection: the k best so far, best first (k is small next to the vocabulary).
  const top: { token: number; key: number }[] = [];
  for (let token = 0; token < q.length; token++) {
    if (!(q[token] > 0)) continue;
    const key = Math.log(q[token]) + (noise ? gumbel(random) : 0);
    if (top.length === k && !(key > top[k - 1].key)) continue;
    let index = top.length < k ? top.length : k - 1;
    while (index > 0 && top[index - 1].key < key) index--;
    top.splice(index, 0, { token, key });
    if (top.length > k) top.pop();
  }
  return { tokens: top.map(c => c.token), keys: top.map(c => c.key) };
}

/** log(1 − exp(a)) for a ≤ 0, accurate near 0 and for large |a| (Mächler, 2012). */
export function log1mexp(a: number): number {
  return a > -Math.LN2 ? Math.log(-Math.expm1(a)) : Math.log1p(-Math.exp(a));
}

/**
 * A Gumbel with location φ conditioned on its maximum over siblings being `target` (stochastic beam
 * search, Kool et al., 2019, eq. 23, numerically stable form): g̃ = −log(exp(−T) − exp(−Z) + exp(−g)),
 * where g is the child's unconditioned perturbed value and Z the maximum over the siblings.
 */
export function conditionedGumbel(target: number, maximum: number, value: number): number {
  const v = target - value + log1mexp(value - maximum);
  return target - Math.max(0, v) - Math.log1p(Math.exp(-Math.abs(v)));
}
