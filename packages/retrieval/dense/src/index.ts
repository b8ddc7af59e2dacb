/**
 * @decodekit/retrieval-dense — dense retrieval from a CausalLM's hidden states: mean / first / last-token
 * pooling, exact cosine search, binary sign codes with Hamming search and cosine re-ranking.
 */
export type { Pooling } from './pool-hidden.js';
export { dot, l2Normalize, poolHidden } from './pool-hidden.js';
export { binaryCode, hammingDistance } from './binary-code.js';
export type { Embedder } from './embedder.js';
export type { CausalLmEmbedderOptions } from './causal-lm-embedder.js';
export { causalLmEmbedder } from './causal-lm-embedder.js';
export type { DenseStore, EmbeddedDocument, ScoredId, StoredDocument } from './dense-store.js';
export { memoryDenseStore } from './memory-dense-store.js';
export type {
  DenseIndex,
  DenseIndexOptions,
  DenseScoring,
  RetrievedDocument,
  Retriever,
} from './dense-index.js';
export { denseIndex } from './dense-index.js';
