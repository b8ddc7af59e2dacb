import {
  InvalidArgumentError,
  analyzeText,
  bm25Index as bm25TermIndex,
  bm25Parameters,
} from '@decodekit/core';

/** One search result of a {@link SearchIndex}. */
export interface SearchHit {
  /** The document's id. */
  id: string;
  /** The document's text (becomes the LangChain Document's `pageContent`). */
  text: string;
  /** Relevance; higher is better. Only the order within one result list is meaningful. */
  score: number;
  metadata?: Record<string, unknown>;
}

/**
 * What `DecodekitRetriever` searches: any index that returns the k best documents for a query.
 * {@link bm25Index} implements it here; decodekit's SPLADE store (`@decodekit/retrieval-splade`) is meant
 * to implement the same interface.
 */
export interface SearchIndex {
  search(query: string, k: number): Promise<SearchHit[]>;
}

/** A document to index. */
export interface IndexDocument {
  /** Default: its position in the index (`"0"`, `"1"`, ...). Ids must be unique. */
  id?: string;
  text: string;
  metadata?: Record<string, unknown>;
}

/** Options of {@link bm25Index}. */
export interface Bm25Options {
  /** Term-frequency saturation, ≥ 0. Default 1.2. */
  k1?: number;
  /** Length normalisation in [0, 1] (0 = none, 1 = full). Default 0.75. */
  b?: number;
  /** Text → terms, used for documents and queries alike. Default {@link defaultTokenize}. */
  tokenize?: (text: string) => string[];
}

/** A BM25 index in memory. */
export interface Bm25Index extends SearchIndex {
  /** Adds documents; statistics (IDF, average length) are updated for later searches. */
  add(documents: readonly IndexDocument[]): void;
  /** Number of indexed documents. */
  readonly size: number;
  /** BM25 score of every document for `query`, by document id (documents without a query term score 0). */
  scores(query: string): Map<string, number>;
}

/**
 * The default analyzer: core's `analyzeText` (Unicode NFKC, lower case, apostrophes between letters dropped
 * — "Lily's" → "lilys" — and maximal runs of letters, digits and marks as terms), the one SPLADE's BM25
 * baseline uses too. No stemming and no stop words: BM25's IDF already discounts frequent words; pass
 * `tokenize` for a language-specific analyzer.
 */
export function defaultTokenize(text: string): string[] {
  return analyzeText(text);
}

/**
 * Okapi BM25 (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009) over
 * core's in-memory `bm25Index` (the BM25 SPLADE's baseline and RAPID's chunk scorer use). A document d scores, for a query with terms q (each query occurrence counts):
 *
 *   score(d) = Σ_q IDF(q) · f(q,d) · (k1 + 1) / (f(q,d) + k1 · (1 − b + b · |d| / avgdl))
 *   IDF(q)   = ln(1 + (N − n(q) + 0.5) / (n(q) + 0.5))
 *
 * with f the term frequency, |d| the document's length in terms, avgdl the mean length, N the number of
 * documents and n(q) the documents containing q. The IDF is Lucene's non-negative variant, so a term in
 * every document still counts a little instead of subtracting. Ties are broken by insertion order.
 *
 * @example
 * const index = bm25Index([{ text: 'Lily has a red ball.' }, { text: 'Tom likes cake.' }]);
 * const [best] = await index.search('red ball', 1); // best.text === 'Lily has a red ball.'
 */
export function bm25Index(
  documents: readonly IndexDocument[] = [],
  options: Bm25Options = {},
): Bm25Index {
  const { tokenize = defaultTokenize } = options;
  const parameters = bm25Parameters(options);
  if (typeof tokenize !== 'function')
    throw new InvalidArgumentError({ argument: 'tokenize', message: 'must be a function.' });

  const stored: { id: string; text: string; metadata?: Record<string, unknown> }[] = [];
  const terms = bm25TermIndex<string, number>(parameters);
  const ids = new Set<string>();

  const add = (batch: readonly IndexDocument[]): void => {
    if (!Array.isArray(batch))
      throw new InvalidArgumentError({ argument: 'documents', message: 'must be an array.' });
    // Validate the whole batch first so a bad document leaves the index unchanged.
    const batchIds = new Set<string>();
    const prepared = batch.map((document, offset) => {
      if (!document || typeof document.text !== 'string') {
        throw new InvalidArgumentError({
          argument: `documents[${offset}]`,
          message: 'needs a string `text`.',
        });
      }
      const id = document.id ?? String(stored.length + offset);
      if (typeof id !== 'string' || ids.has(id) || batchIds.has(id)) {
        throw new InvalidArgumentError({
          argument: `documents[${offset}].id`,
          message: `"${id}" is not a new, unique string id.`,
        });
      }
      batchIds.add(id);
      return {
        id,
        text: document.text,
        metadata: document.metadata,
        terms: tokenize(document.text),
      };
    });
    for (const { id, text, metadata, terms: documentTerms } of prepared) {
      terms.set(stored.length, documentTerms);
      stored.push({ id, text, metadata });
      ids.add(id);
    }
  };

  /** Score of every stored document, by position (0 without a query term). */
  const scoreAll = (query: string): Float64Array => {
    const scores = new Float64Array(stored.length);
    for (const [position, score] of terms.scores(tokenize(query))) scores[position] = score;
    return scores;
  };

  add(documents);

  return {
    add,
    get size() {
      return stored.length;
    },
    scores(query) {
      const scores = scoreAll(query);
      return new Map(stored.map((document, index) => [document.id, scores[index]]));
    },
    async search(query, k) {
      if (typeof query !== 'string')
        throw new InvalidArgumentError({ argument: 'query', message: 'must be a string.' });
      if (!Number.isInteger(k) || k < 1)
        throw new InvalidArgumentError({
          argument: 'k',
          message: `must be a positive integer, got ${k}.`,
        });
      const scores = scoreAll(query);
      const ranked: number[] = [];
      for (let index = 0; index < scores.length; index += 1)
        if (scores[index] > 0) ranked.push(index);
      ranked.sort((left, right) => scores[right] - scores[left] || left - right);
      return ranked.slice(0, k).map(index => {
        const { id, text, metadata } = stored[index];
        return { id, text, score: scores[index], ...(metadata ? { metadata } : {}) };
      });
    },
  };
}
