/**
 * @decodekit/retrieval-postgres — the retrieval stores on PostgreSQL, so stateless decodekit replicas share
 * one index: `postgresSparseStore` (SPLADE dot product, Lucene BM25) and `postgresDenseStore` (exact cosine,
 * Hamming over sign codes). Node only.
 */
export type { PostgresStoreOptions } from './postgres-connection.js';
export type { PostgresSparseStoreOptions } from './postgres-sparse-store.js';
export { postgresSparseStore } from './postgres-sparse-store.js';
export type { PostgresDenseStoreOptions } from './postgres-dense-store.js';
export { postgresDenseStore } from './postgres-dense-store.js';
