import { InvalidArgumentError } from '../errors.js';
import type { LogitsProcessor } from '../types.js';
import { appendToken, historyFrom, type TokenHistory } from './token-history.js';
import { assertTokenId } from './validate.js';

/** State of `badWords`: the prefix and generated tokens (persistent list). */
export type BadWordsState = TokenHistory | null;

/**
 * Bans token sequences (Hugging Face's `NoBadWordsLogitsProcessor`): a one-token sequence is always
 * banned; for a longer one, its last token is banned whenever the text (prefix included) ends with all
 * its other tokens. Tokenize words with and without a leading space if both forms must be banned.
 *
 * @param sequences Non-empty token-id sequences.
 */
export function badWords(
  sequences: readonly (readonly number[])[],
): LogitsProcessor<BadWordsState> {
  if (!Array.isArray(sequences)) {
    throw new InvalidArgumentError({
      argument: 'sequences',
      message: 'expected an array of token-id arrays.',
    });
  }
  for (const sequence of sequences) {
    if (!Array.isArray(sequence) || sequence.length === 0) {
      throw new InvalidArgumentError({
        argument: 'sequences',
        message: 'every banned sequence must be a non-empty array of token ids.',
      });
    }
    for (const id of sequence) assertTokenId('sequences', id);
  }
  const single = Int32Array.from(
    sequences.filter(sequence => sequence.length === 1),
    sequence => sequence[0],
  );
  const multi = sequences.filter(sequence => sequence.length > 1).map(sequence => [...sequence]);
  return {
    name: 'bad-words',
    init: prefix => historyFrom(prefix),
    advance: (state, token) => appendToken(state, token),
    process(logits, state) {
      for (const id of single) if (id < logits.length) logits[id] = -Infinity;
      for (const sequence of multi) {
        const last = sequence[sequence.length - 1];
        if (last < logits.length && endsWith(state, sequence, sequence.length - 1))
          logits[last] = -Infinity;
      }
    },
  };
}

/** True when `history` ends with `sequence[0..length)`. */
function endsWith(
  history: TokenHistory | null,
  sequence: readonly number[],
  length: number,
): boolean {
  let node = history;
  for (let i = length - 1; i >= 0; i--) {
    if (node === null || node.token !== sequence[i]) return false;
    node = node.previous;
  }
  return true;
}
