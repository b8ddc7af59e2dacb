import type { Bm25Parameters } from '@decodekit/core';
import type { SparseVector } from './sparse-vector.js';

/** A document as stored and returned. */
export interface StoredDocument {
  readonly id: string;
  readonly text: string;
  readonly metadata?: Record<string, unknown>;
}

/** A document with one sparse vector per field (e.g. `splade` weights, `lexical` term counts). */
export interface IndexedDocument extends StoredDocument {
  readonly vectors: Readonly<Record<string, SparseVector>>;
}

/** One search hit before the text is joined. */
export interface ScoredId {
  readonly id: string;
  readonly score: number;
}

export type { Bm25Parameters } from '@decodekit/core';

/**
 * Where sparse vectors live: an inverted index keyed by (field, term). Embedded stores (`memorySparseStore`,
 * `sqliteSparseStore`) implement it here, `postgresSparseStore` (`@decodekit/retrieval-postgres`) on a server
 * database; Elasticsearch / OpenSearch would map `searchDot` to `rank_features` / `sparse_vector` queries and
 * `searchBm25` to their native BM25 on a text field. Scores are returned best first; ties go to the lower id.
 * `runSparseStoreConformance` (`@decodekit/retrieval-splade/testing`) checks an implementation.
 */
export interface SparseStore {
  /** Inserts or replaces documents (all their fields). */
  upsert(documents: readonly IndexedDocument[]): Promise<void>;
  /** Removes documents; unknown ids are ignored. */
  delete(ids: readonly string[]): Promise<void>;
  /** The stored documents with these ids, in the same order; unknown ids are left out. */
  get(ids: readonly string[]): Promise<StoredDocument[]>;
  /** Number of documents. */
  count(): Promise<number>;
  /** Top `k` documents by `dot(query, document[field])` (SPLADE scoring); documents scoring 0 are left out. */
  searchDot(field: string, query: SparseVector, k: number): Promise<ScoredId[]>;
  /**
   * Top `k` documents by BM25 over `field`, whose weights are term counts; `query` weights are query term
   * counts. idf = ln(1 + (N − df + 0.5) / (df + 0.5)) as in Lucene.
   */
  searchBm25(
    field: string,
    query: SparseVector,
    k: number,
    parameters: Bm25Parameters,
  ): Promise<ScoredId[]>;
  /** Releases the store (closes files). */
  close(): Promise<void>;
}
