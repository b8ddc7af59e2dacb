/**
 * decodekit's one text analyzer for lexical retrieval (BM25): Unicode NFKC, lower case, apostrophes between
 * letters dropped ("Lily's" and "Lily’s" → "lilys", "don't" → "dont"), then every maximal run of letters,
 * digits and combining marks is a term. No stemming and no stop words (BM25's IDF already discounts frequent
 * words), like Elasticsearch's `standard` analyzer. LangChain's `bm25Index` and SPLADE's `wordAnalyzer` use
 * it, so a query finds the same terms in both.
 *
 * @example
 * analyzeText("Lily's ball, Tom’s CAKE"); // ['lilys', 'ball', 'toms', 'cake']
 */
export function analyzeText(text: string): string[] {
  const normalized = text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/(\p{L})['’](?=\p{L})/gu, '$1');
  return normalized.match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
}

/**
 * A stable numeric id of a term: 32-bit FNV-1a of its UTF-16 code units, as a signed int (sparse vectors
 * and persisted indexes key terms by it; no vocabulary table needed).
 */
export function termId(term: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < term.length; i++) {
    hash ^= term.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/** The term ids of a text: `analyzeText(text).map(termId)` (the ids-level input of `bm25Index`). */
export function textTermIds(text: string): number[] {
  return analyzeText(text).map(termId);
}
