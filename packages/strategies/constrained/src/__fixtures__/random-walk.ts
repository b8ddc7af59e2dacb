import { seededRandom, type Tokenizer } from '@decodekit/core';
import type { ConstraintProcessor, ConstraintState } from '../constraint-processor.js';

/**
 * A seeded random walk through the tokens a constraint allows (EOS, id 0, taken with probability 1/4 when
 * allowed); returns the text and how many tokens it took.
 * @throws Error when no EOS comes within `limit` tokens.
 */
export function randomWalk(
  processor: ConstraintProcessor,
  seed: number,
  tokenizer: Tokenizer,
  limit = 400,
): { text: string; tokens: number } {
  const random = seededRandom(seed);
  let state: ConstraintState = processor.init([]);
  const ids: number[] = [];
  for (let step = 0; step < limit; step++) {
    const allowed = processor.allowedTokens(state);
    if (allowed.includes(0) && (allowed.length === 1 || random.next() < 0.25))
      return { text: tokenizer.decode(ids), tokens: ids.length };
    const choices = allowed.filter(id => id !== 0);
    const token = choices[Math.floor(random.next() * choices.length)];
    ids.push(token);
    state = processor.advance(state, token);
  }
  throw new Error(`no EOS after ${limit} tokens: ${tokenizer.decode(ids)}`);
}
