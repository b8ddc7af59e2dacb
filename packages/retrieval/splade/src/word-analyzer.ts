import { analyzeText, termId } from '@decodekit/core';
import type { SparseEncoder } from './sparse-encoder.js';
import { sparseFromEntries } from './sparse-vector.js';

export { termId } from '@decodekit/core';

/**
 * The words of a text: core's `analyzeText` (NFKC, lower case, apostrophes between letters dropped, runs of
 * letters, digits and marks), the analyzer LangChain's `bm25Index` uses too.
 */
export function wordsOf(text: string): string[] {
  return analyzeText(text);
}

/**
 * The lexical analyzer behind BM25: words (see `wordsOf`; no stemming and no stop words unless given, like
 * Elasticsearch's `standard` analyzer), each term's weight its count in the text, term ids from `termId`.
 */
export function wordAnalyzer({
  stopWords = [],
}: { stopWords?: readonly string[] } = {}): SparseEncoder {
  const stop = new Set(stopWords.map(word => word.toLowerCase()));
  return {
    name: 'words',
    vocabSize: 2 ** 32,
    async encode(text) {
      return sparseFromEntries(
        wordsOf(text)
          .filter(word => !stop.has(word))
          .map(word => [termId(word), 1] as const),
      );
    },
  };
}
