/** @decodekit/retrieval-splade/sqlite — the on-disk `SparseStore` (Node only; needs better-sqlite3). */
export type { SqliteSparseStoreOptions } from './sqlite-sparse-store.js';
export { sqliteSparseStore } from './sqlite-sparse-store.js';
