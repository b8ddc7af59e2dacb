/**
 * @decodekit/retrieval-splade — learned sparse retrieval (SPLADE from an MLM export, Mistral-SPLADE from any
 * CausalLM), BM25 over the same inverted index, and the `SparseStore` interface. The SQLite store is in
 * `@decodekit/retrieval-splade/sqlite` (Node only).
 */
export type { SparseVector } from './sparse-vector.js';
export { pruneTopK, sparseDot, sparseFromEntries } from './sparse-vector.js';
export type { SpladePoolingOptions } from './splade-pooling.js';
export { spladeMaxPool } from './splade-pooling.js';
export type { EncodeKind, SparseEncoder } from './sparse-encoder.js';
export type {
  MlmRunner,
  MlmSpladeOptions,
  OrtSessionLike,
  OrtTensorConstructor,
} from './mlm-splade.js';
export { mlmSplade, onnxMlmRunner } from './mlm-splade.js';
export type { CausalLmSpladeOptions } from './causal-lm-splade.js';
export { causalLmSplade } from './causal-lm-splade.js';
export type {
  Bm25Parameters,
  IndexedDocument,
  ScoredId,
  SparseStore,
  StoredDocument,
} from './sparse-store.js';
export { memorySparseStore } from './memory-sparse-store.js';
export { bm25Idf, bm25Term } from './scoring.js';
export { termId, wordAnalyzer, wordsOf } from './word-analyzer.js';
export { tokenAnalyzer } from './token-analyzer.js';
export type {
  RetrievedDocument,
  Retriever,
  Scoring,
  SparseIndex,
  SparseIndexOptions,
} from './sparse-index.js';
export { LEXICAL_FIELD, SPLADE_FIELD, sparseIndex } from './sparse-index.js';
export { ndcgAtK } from './ndcg.js';
