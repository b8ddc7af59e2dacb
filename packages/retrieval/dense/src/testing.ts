/**
 * @decodekit/retrieval-dense/testing — the shared behavioural suite of `DenseStore` (needs vitest). Run it
 * against a store of your own: `runDenseStoreConformance({ name: 'mine', open: () => myStore() })`.
 */
export type { DenseStoreConformanceOptions } from './dense-store-conformance.js';
export { runDenseStoreConformance } from './dense-store-conformance.js';
