import { InvalidArgumentError } from '../errors.js';
import type { RandomSource } from '../types.js';

/**
 * Draws an index with probability proportional to `probabilities[i]` (inverse transform sampling, one
 * `random.next()` per draw). The weights need not be normalised exactly; they are scaled by their sum.
 *
 * @param probabilities [vocab] non-negative weights with a positive sum.
 * @throws InvalidArgumentError when the weights sum to 0 (or are not finite).
 */
export function sampleFromProbabilities(
  probabilities: ArrayLike<number>,
  random: RandomSource,
): number {
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) sum += probabilities[i];
  if (!(sum > 0) || !Number.isFinite(sum)) {
    throw new InvalidArgumentError({
      argument: 'probabilities',
      message: `cannot sample: the weights sum to ${sum}. Every token may have been banned by the processors.`,
    });
  }
  const target = random.next() * sum;
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < probabilities.length; i++) {
    if (probabilities[i] <= 0) continue;
    cumulative += probabilities[i];
    last = i;
    if (target < cumulative) return i;
  }
  // Rounding left `target` at or past the final cumulative sum: take the last token with weight.
  return last;
}
