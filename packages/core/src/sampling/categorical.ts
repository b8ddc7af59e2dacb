import type { Sampler } from '../types.js';
import { maxOf } from '../processors/softmax.js';
import { allBanned } from './greedy.js';

/**
 * Samples a token from `softmax(logits)` with one draw of the random source (inverse transform over the
 * unnormalised weights `exp(logit - max)`, no allocation). `-Infinity` logits have probability 0 and are
 * never drawn. Same random-source state, same token.
 *
 * @throws InvalidArgumentError from `sample` when every logit is `-Infinity` (everything banned).
 */
export function categorical(): Sampler {
  return {
    name: 'categorical',
    greedy: false,
    sample(logits, random) {
      const max = maxOf(logits);
      if (max === -Infinity) throw allBanned();
      let sum = 0;
      for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
      const target = random.next() * sum;
      let cumulative = 0;
      let last = -1;
      for (let i = 0; i < logits.length; i++) {
        if (logits[i] === -Infinity) continue;
        cumulative += Math.exp(logits[i] - max);
        last = i;
        if (target < cumulative) return i;
      }
      return last;
    },
  };
}
