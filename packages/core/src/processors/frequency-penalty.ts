import { assertFinite } from './validate.js';
import type { LogitsProcessor } from '../types.js';
import type { GeneratedTokensState } from './presence-penalty.js';
import { appendToken } from './token-history.js';

/**
 * OpenAI's frequency penalty: subtracts `a` times the number of occurrences of a token in the generated
 * text from its logit (`logit -= a * count`).
 *
 * Only tokens added with `advance` after `init` count (the generated tokens); the prompt passed to
 * `init` is ignored. See `presencePenalty`.
 *
 * @param a A finite number; > 0 discourages frequent tokens, < 0 encourages them (OpenAI allows [-2, 2]).
 */
export function frequencyPenalty(a: number): LogitsProcessor<GeneratedTokensState> {
  assertFinite('penalty', a, 'Frequency penalty is a finite number, typically in [-2, 2].');
  return {
    name: `frequency-penalty(${a})`,
    init: () => null,
    advance: (state, token) => appendToken(state, token),
    process(logits, state) {
      if (a === 0) return;
      // One subtraction per occurrence adds up to a * count.
      for (let node = state; node !== null; node = node.previous) {
        if (node.token < logits.length) logits[node.token] -= a;
      }
    },
  };
}
