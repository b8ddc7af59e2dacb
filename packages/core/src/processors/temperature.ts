import { InvalidArgumentError } from '../errors.js';
import type { LogitsProcessor } from '../types.js';

/**
 * Divides every logit by `t`: `t < 1` sharpens the distribution, `t > 1` flattens it.
 *
 * `t` must be a finite number > 0. Temperature 0 (greedy decoding) is not a logits transform: use the
 * `greedy()` sampler instead, which takes the argmax (the decoder does this for `temperature: 0`).
 *
 * @param t Temperature, > 0. `1` leaves the logits unchanged.
 */
export function temperature(t: number): LogitsProcessor<undefined> {
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `must be a finite number > 0, got ${String(t)}. For temperature 0 use the greedy() sampler.`,
    });
  }
  const inverse = 1 / t;
  return {
    name: `temperature(${t})`,
    init: () => undefined,
    advance: state => state,
    process(logits) {
      if (t === 1) return;
      for (let i = 0; i < logits.length; i++) logits[i] *= inverse;
    },
  };
}
