import { InvalidArgumentError } from '../errors.js';
import { argmax } from '../processors/argmax.js';
import type { Sampler } from '../types.js';

/**
 * Greedy decoding (temperature 0): always the argmax of the processed logits, the lowest token id among
 * ties. Ignores the random source.
 *
 * @throws InvalidArgumentError from `sample` when every logit is `-Infinity` (everything banned).
 */
export function greedy(): Sampler {
  return {
    name: 'greedy',
    greedy: true,
    sample(logits) {
      const best = argmax(logits);
      if (best === -1 || logits[best] === -Infinity) throw allBanned();
      return best;
    },
  };
}

/** @internal */
export function allBanned(): InvalidArgumentError {
  return new InvalidArgumentError({
    argument: 'logits',
    message: 'cannot sample: every token is banned (-Infinity). Loosen the logits processors.',
  });
}
