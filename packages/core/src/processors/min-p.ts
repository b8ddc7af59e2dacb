import { InvalidArgumentError } from '../errors.js';
import type { LogitsProcessor } from '../types.js';
import { maxOf } from './softmax.js';

/**
 * Min-p sampling (Nguyen et al., 2024, https://arxiv.org/abs/2407.01082): bans every token whose
 * probability is below `p` times the probability of the most likely token. Works in logit space
 * (`logit < maxLogit + ln p`), so it needs no softmax.
 *
 * @param p In [0, 1]; `0` disables the filter, `1` keeps only the top token(s).
 */
export function minP(p: number): LogitsProcessor<undefined> {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new InvalidArgumentError({
      argument: 'p',
      message: `min-p must be in [0, 1], got ${String(p)}.`,
    });
  }
  const logP = Math.log(p);
  return {
    name: `min-p(${p})`,
    init: () => undefined,
    advance: state => state,
    process(logits) {
      if (p === 0) return;
      const max = maxOf(logits);
      if (max === -Infinity) return;
      const threshold = max + logP;
      for (let i = 0; i < logits.length; i++) if (logits[i] < threshold) logits[i] = -Infinity;
    },
  };
}
