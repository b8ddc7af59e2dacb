import { InvalidArgumentError } from '../errors.js';
import type { LogitsProcessor } from '../types.js';
import { appendToken, historyFrom, SeenMarks, type TokenHistory } from './token-history.js';

/** State of `repetitionPenalty`: every token of the prefix and of the generated text (persistent list). */
export type RepetitionPenaltyState = TokenHistory | null;

/**
 * CTRL's repetition penalty (Keskar et al., 2019, https://arxiv.org/abs/1909.05858) with Hugging Face's
 * semantics: for every distinct token that occurs in the prefix (prompt) or in the generated text, a
 * positive logit is divided by `r` and a negative one multiplied by `r`. Each token is penalised once,
 * however often it occurs.
 *
 * @param r > 0. `r > 1` discourages repetition (1.1–1.3 is typical), `1` is a no-op, `r < 1`
 *   encourages repetition.
 */
export function repetitionPenalty(r: number): LogitsProcessor<RepetitionPenaltyState> {
  if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0) {
    throw new InvalidArgumentError({
      argument: 'penalty',
      message: `repetition penalty must be a finite number > 0 (1 = off, >1 penalises), got ${String(r)}.`,
    });
  }
  const seen = new SeenMarks();
  return {
    name: `repetition-penalty(${r})`,
    init: prefix => historyFrom(prefix),
    advance: (state, token) => appendToken(state, token),
    process(logits, state) {
      if (r === 1) return;
      seen.begin(logits.length);
      for (let node = state; node !== null; node = node.previous) {
        const id = node.token;
        if (id >= logits.length || !seen.mark(id)) continue;
        const value = logits[id];
        logits[id] = value > 0 ? value / r : value * r;
      }
    },
  };
}
