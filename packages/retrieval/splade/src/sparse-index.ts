import { InvalidArgumentError, bm25Parameters, type Bm25Parameters } from '@decodekit/core';
import type { SparseEncoder } from './sparse-encoder.js';
import type { SparseStore } from './sparse-store.js';
import type { SparseVector } from './sparse-vector.js';
import { wordAnalyzer } from './word-analyzer.js';

/** A search hit: the shape LangChain-style retrievers consume. */
export interface RetrievedDocument {
  readonly id: string;
  readonly text: string;
  readonly score: number;
  readonly metadata?: Record<string, unknown>;
}

/** Anything with `search(query, k)` (what `@decodekit/langchain`'s retriever adapter consumes). */
export interface Retriever {
  search(query: string, k: number): Promise<RetrievedDocument[]>;
}

/** How `search` ranks: SPLADE dot product, or BM25 over the lexical field of the same index. */
export type Scoring = 'splade' | 'bm25';

/** Options of `sparseIndex`. */
export interface SparseIndexOptions {
  /** Where postings live (`memorySparseStore()`, `sqliteSparseStore({ path })`, or a server engine). */
  readonly store: SparseStore;
  /** The SPLADE encoder (`causalLmSplade`, `mlmSplade`); omit for a BM25-only index. */
  readonly encoder?: SparseEncoder;
  /** The lexical analyzer behind BM25. Default `wordAnalyzer()` (core's `analyzeText`, as LangChain's `bm25Index`). */
  readonly analyzer?: SparseEncoder;
  /** BM25 parameters. Default k1 = 1.2, b = 0.75. */
  readonly bm25?: Bm25Parameters;
}

/** Field names used in the store. */
export const SPLADE_FIELD = 'splade';
export const LEXICAL_FIELD = 'lexical';

/** A sparse index: documents go in once and are searchable both by SPLADE and by BM25. */
export interface SparseIndex {
  /** Encodes and stores documents (replacing any with the same id). */
  add(
    documents: readonly { id: string; text: string; metadata?: Record<string, unknown> }[],
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** Top `k` documents for `query`. */
  search(
    query: string,
    k: number,
    options?: { scoring?: Scoring; signal?: AbortSignal },
  ): Promise<RetrievedDocument[]>;
  /** A `Retriever` fixed to one scoring. */
  asRetriever(scoring?: Scoring): Retriever;
  readonly store: SparseStore;
}

/**
 * Builds a sparse index over a store. Each document gets a `splade` field (the encoder's pruned weights,
 * when an encoder is given) and a `lexical` field (term counts for BM25).
 */
export function sparseIndex({
  store,
  encoder,
  analyzer = wordAnalyzer(),
  bm25: bm25Options,
}: SparseIndexOptions): SparseIndex {
  const bm25 = bm25Parameters(bm25Options);
  const defaultScoring: Scoring = encoder ? 'splade' : 'bm25';
  const index: SparseIndex = {
    store,
    async add(documents, { signal } = {}) {
      const batch = [];
      for (const document of documents) {
        const vectors: Record<string, SparseVector> = {
          [LEXICAL_FIELD]: await analyzer.encode(document.text),
        };
        if (encoder)
          vectors[SPLADE_FIELD] = await encoder.encode(document.text, { kind: 'document', signal });
        batch.push({ ...document, vectors });
      }
      await store.upsert(batch);
    },
    async search(query, k, { scoring = defaultScoring, signal } = {}) {
      let hits;
      if (scoring === 'splade') {
        if (!encoder)
          throw new InvalidArgumentError({
            argument: 'scoring',
            message: 'SPLADE scoring needs an encoder; this index has none',
          });
        hits = await store.searchDot(
          SPLADE_FIELD,
          await encoder.encode(query, { kind: 'query', signal }),
          k,
        );
      } else {
        hits = await store.searchBm25(LEXICAL_FIELD, await analyzer.encode(query), k, bm25);
      }
      const documents = new Map(
        (await store.get(hits.map(hit => hit.id))).map(document => [document.id, document]),
      );
      return hits.flatMap(hit => {
        const document = documents.get(hit.id);
        if (!document) return [];
        return [
          document.metadata === undefined
            ? { id: hit.id, text: document.text, score: hit.score }
            : { ...document, score: hit.score },
        ];
      });
    },
    asRetriever(scoring = defaultScoring) {
      return { search: (query, k) => index.search(query, k, { scoring }) };
    },
  };
  return index;
}
