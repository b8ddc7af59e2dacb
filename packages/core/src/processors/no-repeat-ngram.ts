import { InvalidArgumentError } from '../errors.js';
import type { LogitsProcessor } from '../types.js';
import { hashKey, insertNext, lookupNext, type NgramMap } from './ngram-map.js';
import { appendToken, type TokenHistory } from './token-history.js';

/**
 * State of `noRepeatNgram`: the token history plus a persistent map from every (n-1)-gram seen so far
 * to the tokens that followed it. `advance` is O(n + log entries) and shares structure with the old
 * state, so trees and beams can fork it freely.
 */
export interface NoRepeatNgramState {
  readonly history: TokenHistory | null;
  readonly ngrams: NgramMap;
}

/**
 * Bans every token that would complete an n-gram already present anywhere in the prefix or the
 * generated text (Paulus et al., 2017, https://arxiv.org/abs/1705.04304), with Hugging Face's
 * `NoRepeatNGramLogitsProcessor` semantics. With `n = 1` every token seen so far is banned.
 *
 * @param n N-gram size, a positive integer.
 */
export function noRepeatNgram(n: number): LogitsProcessor<NoRepeatNgramState> {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError({
      argument: 'n',
      message: `n-gram size must be a positive integer, got ${String(n)}.`,
    });
  }
  const keyLength = n - 1;
  const advance = (state: NoRepeatNgramState, token: number): NoRepeatNgramState => {
    const { history } = state;
    let ngrams = state.ngrams;
    if ((history?.length ?? 0) >= keyLength) {
      const key = lastTokens(history, keyLength);
      ngrams = insertNext(ngrams, key, token, hashKey(key));
    }
    return { history: appendToken(history, token), ngrams };
  };
  return {
    name: `no-repeat-ngram(${n})`,
    init(prefix) {
      let state: NoRepeatNgramState = { history: null, ngrams: undefined };
      for (const token of prefix) state = advance(state, token);
      return state;
    },
    advance,
    process(logits, state) {
      if ((state.history?.length ?? 0) < keyLength) return;
      const banned = lookupNext(state.ngrams, lastTokens(state.history, keyLength));
      if (banned === undefined) return;
      for (const token of banned) if (token < logits.length) logits[token] = -Infinity;
    },
  };
}

/** The newest `count` tokens of `history`, newest first. */
function lastTokens(history: TokenHistory | null, count: number): number[] {
  const tokens: number[] = Array.from({ length: count }, () => 0);
  let node = history;
  for (let i = 0; i < count && node !== null; i++, node = node.previous) tokens[i] = node.token;
  return tokens;
}
