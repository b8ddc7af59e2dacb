import type { SparseEncoder } from './sparse-encoder.js';
import { sparseFromEntries } from './sparse-vector.js';

/** 32-bit FNV-1a of a string, as a signed int (a stable term id that needs no vocabulary table). */
export function termId(word: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    hash ^= word.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/** The words of a text: lower-cased runs of letters, digits and apostrophes (Unicode-aware). */
export function wordsOf(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
}

/**
 * The lexical analyzer behind BM25: words (see `wordsOf`, no stemming and no stop words, like Elasticsearch's
 * `standard` analyzer), each term's weight its count in the text, term ids from `termId`.
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
