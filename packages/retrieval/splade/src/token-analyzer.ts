import type { Tokenizer } from '@decodekit/core';
import type { SparseEncoder } from './sparse-encoder.js';
import { sparseFromEntries } from './sparse-vector.js';

/**
 * A lexical analyzer over a tokenizer's sub-word ids: each token id of a text is a term, weighted by its count.
 * BM25 over it is the lexical ceiling of a SPLADE encoder with the same vocabulary (a decoder-LM SPLADE vector
 * lives in the token-id space), so `sparseIndex({ store, analyzer: tokenAnalyzer({ tokenizer }) })` tells how
 * much of word-level BM25 a small vocabulary can express.
 */
export function tokenAnalyzer({ tokenizer }: { tokenizer: Tokenizer }): SparseEncoder {
  return {
    name: 'tokens',
    vocabSize: tokenizer.vocabSize,
    async encode(text) {
      return sparseFromEntries(
        tokenizer.encode(text, { addSpecialTokens: false }).map(id => [id, 1] as const),
      );
    },
  };
}
