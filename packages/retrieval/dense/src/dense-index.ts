import { InvalidArgumentError } from '@decodekit/core';
import { binaryCode } from './binary-code.js';
import type { DenseStore } from './dense-store.js';
import type { Embedder } from './embedder.js';

/** A search hit: the shape LangChain-style retrievers consume (the same as splade's `RetrievedDocument`). */
export interface RetrievedDocument {
  readonly id: string;
  readonly text: string;
  readonly score: number;
  readonly metadata?: Record<string, unknown>;
}

/** Anything with `search(query, k)`. */
export interface Retriever {
  search(query: string, k: number): Promise<RetrievedDocument[]>;
}

/**
 * How `search` ranks: `'cosine'` exact cosine; `'hamming'` Hamming distance of sign codes (score = −distance);
 * `'hamming-rerank'` the `candidates` nearest codes re-ranked by exact cosine.
 */
export type DenseScoring = 'cosine' | 'hamming' | 'hamming-rerank';

/** Options of `denseIndex`. */
export interface DenseIndexOptions {
  readonly store: DenseStore;
  readonly embedder: Embedder;
  /** Codes kept for the cosine re-rank of `'hamming-rerank'`. Default 32. */
  readonly candidates?: number;
}

/** A dense index: documents are embedded once and searched by cosine or by binary codes. */
export interface DenseIndex {
  /** Embeds and stores documents (replacing any with the same id). */
  add(
    documents: readonly { id: string; text: string; metadata?: Record<string, unknown> }[],
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** Top `k` documents for `query`. */
  search(
    query: string,
    k: number,
    options?: { scoring?: DenseScoring; candidates?: number; signal?: AbortSignal },
  ): Promise<RetrievedDocument[]>;
  /** A `Retriever` fixed to one scoring. */
  asRetriever(scoring?: DenseScoring): Retriever;
  readonly store: DenseStore;
}

/** Builds a dense index over a store with an embedder (`causalLmEmbedder`). */
export function denseIndex({ store, embedder, candidates = 32 }: DenseIndexOptions): DenseIndex {
  if (!store || !embedder)
    throw new InvalidArgumentError({
      argument: 'options',
      message: 'denseIndex() needs a store and an embedder',
    });
  const checkCandidates = (value: number): void => {
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidArgumentError({
        argument: 'candidates',
        message: `must be a positive integer, got ${value}`,
      });
  };
  checkCandidates(candidates);
  const index: DenseIndex = {
    store,
    async add(documents, { signal } = {}) {
      const batch = [];
      for (const document of documents)
        batch.push({ ...document, vector: await embedder.embed(document.text, { signal }) });
      await store.upsert(batch);
    },
    async search(query, k, { scoring = 'cosine', candidates: pool = candidates, signal } = {}) {
      if (scoring !== 'cosine' && scoring !== 'hamming' && scoring !== 'hamming-rerank') {
        throw new InvalidArgumentError({
          argument: 'scoring',
          message: `must be 'cosine', 'hamming' or 'hamming-rerank', got ${String(scoring)}`,
        });
      }
      checkCandidates(pool);
      const vector = await embedder.embed(query, { signal });
      let hits;
      if (scoring === 'cosine') hits = await store.searchCosine(vector, k);
      else if (scoring === 'hamming') hits = await store.searchHamming(binaryCode(vector), k);
      else {
        const near = await store.searchHamming(binaryCode(vector), Math.max(pool, k));
        hits = await store.searchCosine(vector, k, { among: near.map(hit => hit.id) });
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
    asRetriever(scoring = 'cosine') {
      return { search: (query, k) => index.search(query, k, { scoring }) };
    },
  };
  return index;
}
