/**
 * @decodekit/retrieval-knn-lm — kNN-LM: a (hidden state → next token) datastore, exact and HNSW search, and
 * interpolation with the model's distribution as model middleware (`wrapModel`).
 */
export type { BuildDatastoreOptions, Datastore } from './datastore.js';
export { buildDatastore } from './datastore.js';
export type { HnswSearchOptions, NeighborSearch, Neighbors } from './neighbor-search.js';
export { exactSearch, hnswSearch } from './neighbor-search.js';
export type { KnnLmOptions } from './knn-lm.js';
export { knnLm } from './knn-lm.js';
export { sequencePerplexity } from './sequence-perplexity.js';
