/**
 * @decodekit/retrieval-splade/testing — the shared behavioural suite of `SparseStore` (needs vitest). Run it
 * against a store of your own: `runSparseStoreConformance({ name: 'mine', open: () => myStore() })`.
 */
export type { SparseStoreConformanceOptions } from './sparse-store-conformance.js';
export { runSparseStoreConformance } from './sparse-store-conformance.js';
