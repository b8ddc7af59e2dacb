import { InvalidArgumentError } from '../errors.js';
import type { LogitsProcessor } from '../types.js';
import { maxOf } from './softmax.js';
import { RankTruncation } from './truncate-by-rank.js';

/**
 * Locally typical sampling (Meister et al., 2022, https://arxiv.org/abs/2202.00666), with Hugging Face's
 * `TypicalLogitsWarper` semantics: tokens are ranked by how close their surprisal `-log p` is to the
 * entropy of the distribution, and the smallest such prefix whose probabilities add up to at least `p`
 * is kept (the token that crosses `p` is kept). Ties are broken by the lowest token id.
 *
 * @param p Probability mass in (0, 1]; `1` disables the filter.
 */
export function typical(p: number): LogitsProcessor<undefined> {
  if (typeof p !== 'number' || !(p > 0 && p <= 1)) {
    throw new InvalidArgumentError({
      argument: 'p',
      message: `typical-p must be in (0, 1] (1 disables it), got ${String(p)}.`,
    });
  }
  const truncation = new RankTruncation();
  let scores = new Float64Array(0);
  let probabilities = new Float64Array(0);
  return {
    name: `typical(${p})`,
    init: () => undefined,
    advance: state => state,
    process(logits) {
      if (p === 1) return;
      const max = maxOf(logits);
      if (max === -Infinity) return;
      if (scores.length !== logits.length) {
        scores = new Float64Array(logits.length);
        probabilities = new Float64Array(logits.length);
      }
      let sum = 0;
      for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
      const logSum = Math.log(sum);
      // Entropy H = -sum p log p over tokens with p > 0 (banned tokens contribute 0, not 0 * -Inf).
      let entropy = 0;
      for (let i = 0; i < logits.length; i++) {
        if (logits[i] === -Infinity) {
          probabilities[i] = 0;
          continue;
        }
        const logProbability = logits[i] - max - logSum;
        probabilities[i] = Math.exp(logProbability);
        entropy -= probabilities[i] * logProbability;
      }
      // Score = -|surprisal - H|: the most typical token ranks first.
      for (let i = 0; i < logits.length; i++) {
        scores[i] =
          logits[i] === -Infinity ? -Infinity : -Math.abs(-(logits[i] - max - logSum) - entropy);
      }
      truncation.apply(logits, scores, probabilities, p);
    },
  };
}
