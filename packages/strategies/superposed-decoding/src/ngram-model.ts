import { InvalidArgumentError } from '@decodekit/core';

/** Conditional n-gram probabilities counted from a token corpus. */
export interface NgramModel {
  /** Longest context used (n − 1 of the highest n-gram order). */
  readonly maxContext: number;
  /**
   * `count(context, next) / count(context)` where `context` is the last `context.length` tokens, or −1 when
   * that context never occurs in the corpus (the official code's "no match").
   */
  prob(context: readonly number[], next: number): number;
}

/**
 * Counts every n-gram of order 2 … `maxOrder` (contexts of 1 … maxOrder − 1 tokens) in a corpus of token
 * sequences: superposed decoding's bigram … sixgram tables (`superposed/ngrams/make_corpus.py` builds them
 * from a text corpus; here any token corpus, tokenized with the decoded model's tokenizer).
 */
export function ngramModel(
  corpus: readonly (readonly number[])[],
  { maxOrder = 6 }: { maxOrder?: number } = {},
): NgramModel {
  if (!Number.isInteger(maxOrder) || maxOrder < 2) {
    throw new InvalidArgumentError({
      argument: 'maxOrder',
      message: `must be an integer ≥ 2, got ${maxOrder}.`,
    });
  }
  const maxContext = maxOrder - 1;
  // next-token counts per context (key: context ids joined), and context totals.
  const next = new Map<string, Map<number, number>>();
  const totals = new Map<string, number>();
  for (const sequence of corpus) {
    for (let end = 1; end < sequence.length; end++) {
      const token = sequence[end];
      for (let length = 1; length <= maxContext && end - length >= 0; length++) {
        const key = sequence.slice(end - length, end).join(',');
        let counts = next.get(key);
        if (!counts) next.set(key, (counts = new Map()));
        counts.set(token, (counts.get(token) ?? 0) + 1);
        totals.set(key, (totals.get(key) ?? 0) + 1);
      }
    }
  }
  return {
    maxContext,
    prob(context, token) {
      const key = context.join(',');
      const total = totals.get(key);
      if (!total) return -1;
      return (next.get(key)?.get(token) ?? 0) / total;
    },
  };
}
