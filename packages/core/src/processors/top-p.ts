import { InvalidArgumentError } from '../errors.js';
import type { LogitsProcessor } from '../types.js';
import { maxOf } from './softmax.js';
import { RankTruncation } from './truncate-by-rank.js';

/**
 * Nucleus sampling (Holtzman et al., 2019, https://arxiv.org/abs/1904.09751): keeps the smallest set of
 * most likely tokens whose probabilities add up to at least `p` (the token that crosses `p` is kept)
 * and bans the rest. Ties in probability are broken by the lowest token id. At least one token is kept.
 *
 * @param p In (0, 1]; `1` disables the filter.
 */
export function topP(p: number): LogitsProcessor<undefined> {
  if (typeof p !== 'number' || !(p > 0 && p <= 1)) {
    throw new InvalidArgumentError({
      argument: 'p',
      message: `top-p must be in (0, 1] (1 disables it), got ${String(p)}.`,
    });
  }
  const truncation = new RankTruncation();
  let scores = new Float64Array(0);
  let probabilities = new Float64Array(0);
  return {
    name: `top-p(${p})`,
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
      for (let i = 0; i < logits.length; i++) {
        scores[i] = logits[i];
        probabilities[i] = Math.exp(logits[i] - max);
        sum += probabilities[i];
      }
      for (let i = 0; i < logits.length; i++) probabilities[i] /= sum;
      truncation.apply(logits, scores, probabilities, p);
    },
  };
}
