import { assertFinite } from './validate.js';
import type { LogitsProcessor } from '../types.js';
import { appendToken, SeenMarks, type TokenHistory } from './token-history.js';

/**
 * State of `presencePenalty` and `frequencyPenalty`: the tokens passed to `advance` since `init`, i.e.
 * the generated tokens only (persistent list). The prefix given to `init` does not count.
 */
export type GeneratedTokensState = TokenHistory | null;

/**
 * OpenAI's presence penalty: subtracts `a` once from the logit of every token that occurs in the
 * generated text (`logit -= a * [count > 0]`).
 *
 * Only tokens added with `advance` after `init` count (the generated tokens, as in OpenAI's API); the
 * prompt passed to `init` is ignored. Hence a decoder must `init` with the prompt once and `advance` with
 * every generated token, not re-`init` with the committed tokens.
 *
 * @param a A finite number; > 0 discourages tokens already used, < 0 encourages them (OpenAI allows
 *   [-2, 2]).
 */
export function presencePenalty(a: number): LogitsProcessor<GeneratedTokensState> {
  assertFinite('penalty', a, 'Presence penalty is a finite number, typically in [-2, 2].');
  const seen = new SeenMarks();
  return {
    name: `presence-penalty(${a})`,
    init: () => null,
    advance: (state, token) => appendToken(state, token),
    process(logits, state) {
      if (a === 0) return;
      seen.begin(logits.length);
      for (let node = state; node !== null; node = node.previous) {
        if (node.token < logits.length && seen.mark(node.token)) logits[node.token] -= a;
      }
    },
  };
}
