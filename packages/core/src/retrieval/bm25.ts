import { InvalidArgumentError } from '../errors.js';

/** BM25 parameters (Robertson et al.; Lucene / Elasticsearch defaults k1 = 1.2, b = 0.75). */
export interface Bm25Parameters {
  /** Term-frequency saturation, ≥ 0. */
  readonly k1: number;
  /** Length normalization in [0, 1] (0 = none, 1 = full). */
  readonly b: number;
}

/**
 * BM25 parameters with the Lucene defaults filled in (k1 = 1.2, b = 0.75), validated.
 *
 * @throws InvalidArgumentError when k1 is negative or not finite, or b is outside [0, 1]
 */
export function bm25Parameters({
  k1 = 1.2,
  b = 0.75,
}: Partial<Bm25Parameters> = {}): Bm25Parameters {
  if (!(Number.isFinite(k1) && k1 >= 0))
    throw new InvalidArgumentError({ argument: 'k1', message: `must be ≥ 0, got ${k1}.` });
  if (!(Number.isFinite(b) && b >= 0 && b <= 1))
    throw new InvalidArgumentError({ argument: 'b', message: `must be in [0, 1], got ${b}.` });
  return { k1, b };
}

/**
 * Lucene's non-negative BM25 IDF, `ln(1 + (N − n + 0.5) / (n + 0.5))` for N documents of which n hold the
 * term: a term in every document still counts a little instead of subtracting.
 */
export function bm25Idf(documentCount: number, documentFrequency: number): number {
  return Math.log(1 + (documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/**
 * BM25 weight of one (term, document) posting: `idf · f · (k1 + 1) / (f + k1 · (1 − b + b · |d| / avgdl))`
 * with f the term's frequency in the document, |d| the document's length in terms and avgdl the mean
 * length (an empty collection's 0 counts as 1).
 */
export function bm25TermWeight(
  idf: number,
  termFrequency: number,
  documentLength: number,
  averageLength: number,
  { k1, b }: Bm25Parameters,
): number {
  const norm = k1 * (1 - b + (b * documentLength) / (averageLength || 1));
  return (idf * termFrequency * (k1 + 1)) / (termFrequency + norm);
}

/**
 * An in-memory BM25 index over bags of terms — token ids, analyzer term ids (`textTermIds`) or words
 * (`analyzeText`) — keyed by document. Every document's length is its number of terms.
 */
export interface Bm25Index<TTerm, TKey> {
  /** Adds a document, or replaces the one with this key. */
  set(key: TKey, terms: Iterable<TTerm>): void;
  /** Removes a document; an unknown key is ignored. */
  delete(key: TKey): void;
  /** Number of documents. */
  readonly size: number;
  /**
   * Okapi BM25 of every document that holds a query term, by key, in insertion order:
   * `Σ_q c(q) · idf(q) · weight(q, d)` where c(q) counts the query's occurrences of q (so a repeated query
   * word counts again, as in Lucene's disjunction of its clauses) and the weights are `bm25TermWeight`.
   */
  scores(query: Iterable<TTerm>): Map<TKey, number>;
}

/**
 * Okapi BM25 (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009) with
 * Lucene's IDF: the one BM25 of decodekit. LangChain's `bm25Index`, SPLADE's BM25 baseline and RAPID's
 * chunk scorer all score with it (or its `bm25Idf`/`bm25TermWeight`), so one query scores the same in each.
 *
 * @example
 * const index = bm25Index<string, string>();
 * index.set('a', analyzeText('Lily has a red ball.'));
 * index.set('b', analyzeText('Tom likes cake.'));
 * index.scores(analyzeText('red ball')); // Map { 'a' => 1.28… }
 */
export function bm25Index<TTerm, TKey>(
  parameters: Partial<Bm25Parameters> = {},
): Bm25Index<TTerm, TKey> {
  const resolved = bm25Parameters(parameters);
  /** term → (document → frequency) */
  const postings = new Map<TTerm, Map<TKey, number>>();
  /** document → (its distinct terms, its length), in insertion order */
  const documents = new Map<TKey, { terms: TTerm[]; length: number }>();
  let totalLength = 0;

  const remove = (key: TKey): void => {
    const document = documents.get(key);
    if (!document) return;
    for (const term of document.terms) {
      const list = postings.get(term);
      list?.delete(key);
      if (list?.size === 0) postings.delete(term);
    }
    totalLength -= document.length;
    documents.delete(key);
  };

  return {
    set(key, terms) {
      remove(key);
      const counts = countTerms(terms);
      let length = 0;
      for (const [term, frequency] of counts) {
        let list = postings.get(term);
        if (!list) postings.set(term, (list = new Map()));
        list.set(key, frequency);
        length += frequency;
      }
      documents.set(key, { terms: [...counts.keys()], length });
      totalLength += length;
    },
    delete: remove,
    get size() {
      return documents.size;
    },
    scores(query) {
      const count = documents.size;
      const scores = new Map<TKey, number>();
      if (count === 0) return scores;
      const averageLength = totalLength / count;
      const hits = new Map<TKey, number>();
      for (const [term, occurrences] of countTerms(query)) {
        const list = postings.get(term);
        if (!list) continue;
        const idf = bm25Idf(count, list.size);
        for (const [key, frequency] of list) {
          const length = documents.get(key)?.length ?? 0;
          const weight = bm25TermWeight(idf, frequency, length, averageLength, resolved);
          hits.set(key, (hits.get(key) ?? 0) + occurrences * weight);
        }
      }
      for (const key of documents.keys()) {
        const score = hits.get(key);
        if (score !== undefined) scores.set(key, score);
      }
      return scores;
    },
  };
}

/**
 * BM25 scores of `documents` (bags of terms, e.g. chunks of token ids) for `query`, one per document in
 * order (0 for a document without a query term): `bm25Index` over the list.
 */
export function bm25Scores<TTerm>(
  documents: readonly Iterable<TTerm>[],
  query: Iterable<TTerm>,
  parameters: Partial<Bm25Parameters> = {},
): number[] {
  const index = bm25Index<TTerm, number>(parameters);
  documents.forEach((terms, position) => index.set(position, terms));
  const scores = index.scores(query);
  return documents.map((_, position) => scores.get(position) ?? 0);
}

function countTerms<TTerm>(terms: Iterable<TTerm>): Map<TTerm, number> {
  const counts = new Map<TTerm, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}
