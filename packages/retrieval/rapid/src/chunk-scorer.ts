import { bm25Parameters, bm25Scores } from '@decodekit/core';

/**
 * Scores chunks of the long context against a query; higher is more relevant. Token ids in, one score per
 * chunk out. Wrap any retriever (dense embeddings, SPLADE, a server) in this shape.
 */
export type ChunkScorer = (
  chunks: readonly (readonly number[])[],
  query: readonly number[],
  options?: { signal?: AbortSignal },
) => readonly number[] | Promise<readonly number[]>;

/**
 * BM25 over token ids: core's `bm25Scores` (Lucene's IDF `ln(1 + (N − df + 0.5) / (df + 0.5))`), each chunk a
 * bag of token ids and the query's ids the query terms, each occurrence counting — the BM25 that LangChain's
 * `bm25Index` and SPLADE's baseline use on analyzer terms. Needs no tokenizer and no index outside the prompt.
 *
 * @throws InvalidArgumentError when k1 < 0 or b is outside [0, 1]
 */
export function bm25ChunkScorer(parameters: { k1?: number; b?: number } = {}): ChunkScorer {
  const resolved = bm25Parameters(parameters);
  return (chunks, query) => bm25Scores(chunks, query, resolved);
}
