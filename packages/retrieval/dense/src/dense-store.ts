/** A document as stored and returned (the same shape as `@decodekit/retrieval-splade`'s `StoredDocument`). */
export interface StoredDocument {
  readonly id: string;
  readonly text: string;
  readonly metadata?: Record<string, unknown>;
}

/** A document with its L2-normalised embedding. */
export interface EmbeddedDocument extends StoredDocument {
  readonly vector: Float32Array;
}

/** One search hit before the text is joined. */
export interface ScoredId {
  readonly id: string;
  readonly score: number;
}

/**
 * Where dense vectors live; the dense counterpart of splade's `SparseStore` (same `upsert` / `delete` / `get`
 * / `count` / `close`, with `searchCosine` and `searchHamming` in place of `searchDot` / `searchBm25`). A
 * vector database (LanceDB, Elasticsearch `dense_vector`, usearch with a `b1` metric for codes) can implement
 * it; `postgresDenseStore` (`@decodekit/retrieval-postgres`) does on PostgreSQL. Results are best first; ties
 * go to the lower id. `runDenseStoreConformance` (`@decodekit/retrieval-dense/testing`) checks an implementation.
 */
export interface DenseStore {
  /** Inserts or replaces documents; binary codes are derived from the vectors. */
  upsert(documents: readonly EmbeddedDocument[]): Promise<void>;
  /** Removes documents; unknown ids are ignored. */
  delete(ids: readonly string[]): Promise<void>;
  /** The stored documents with these ids, in the same order; unknown ids are left out. */
  get(ids: readonly string[]): Promise<StoredDocument[]>;
  /** Number of documents. */
  count(): Promise<number>;
  /** Top `k` by cosine (dot product of normalised vectors), exact. */
  searchCosine(
    query: Float32Array,
    k: number,
    options?: { among?: readonly string[] },
  ): Promise<ScoredId[]>;
  /** Top `k` by Hamming distance between sign-bit codes; `score` is the negated distance. */
  searchHamming(code: Uint32Array, k: number): Promise<ScoredId[]>;
  /** Releases the store. */
  close(): Promise<void>;
}
