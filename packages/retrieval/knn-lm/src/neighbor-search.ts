import { InvalidArgumentError } from '@decodekit/core';
import { Index, MetricKind, ScalarKind } from 'usearch';
import type { Datastore } from './datastore.js';

/** The k nearest keys of a query, nearest first. Distances are squared L2. */
export interface Neighbors {
  readonly indices: Int32Array; // [k]
  readonly distances: Float32Array; // [k]
}

/** Finds nearest datastore keys. */
export interface NeighborSearch {
  readonly name: string;
  search(query: Float32Array, k: number): Neighbors;
}

/** Brute-force squared-L2 search over every key (the reference the approximate index is checked against). */
export function exactSearch(datastore: Datastore): NeighborSearch {
  const { keys, dimensions, size } = datastore;
  return {
    name: 'exact',
    search(query, k) {
      const count = Math.min(k, size);
      const distances = new Float32Array(size);
      for (let row = 0; row < size; row++) {
        let sum = 0;
        const offset = row * dimensions;
        for (let d = 0; d < dimensions; d++) {
          const diff = keys[offset + d] - query[d];
          sum += diff * diff;
        }
        distances[row] = sum;
      }
      const order = Array.from({ length: size }, (_, i) => i);
      order.sort((a, b) => distances[a] - distances[b] || a - b);
      const indices = Int32Array.from(order.slice(0, count));
      return { indices, distances: Float32Array.from(indices, i => distances[i]) };
    },
  };
}

/** Options of `hnswSearch`. */
export interface HnswSearchOptions {
  /** Edges per node (HNSW M). Default 16. */
  readonly connectivity?: number;
  /** Candidates kept while building (efConstruction). Default 128. */
  readonly expansionAdd?: number;
  /** Candidates kept while searching (ef). Default 64. */
  readonly expansionSearch?: number;
}

/**
 * Approximate search with an HNSW graph from usearch (Unum; prebuilt N-API binaries shipped in the npm package).
 * The kNN-LM paper used FAISS IVF-PQ; HNSW plays the same role. Distances are squared L2, as in FAISS.
 */
export function hnswSearch(
  datastore: Datastore,
  { connectivity = 16, expansionAdd = 128, expansionSearch = 64 }: HnswSearchOptions = {},
): NeighborSearch {
  for (const [argument, value] of Object.entries({ connectivity, expansionAdd, expansionSearch })) {
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidArgumentError({
        argument,
        message: `${argument} must be a positive integer, got ${value}`,
      });
  }
  const index = new Index({
    dimensions: datastore.dimensions,
    metric: MetricKind.L2sq,
    quantization: ScalarKind.F32,
    multi: false,
    connectivity,
    expansion_add: expansionAdd,
    expansion_search: expansionSearch,
  });
  if (datastore.size > 0) {
    // One thread: a multi-threaded build inserts in a racy order, and the same datastore must give the same graph.
    index.add(
      BigUint64Array.from({ length: datastore.size }, (_, i) => BigInt(i)),
      datastore.keys,
      1,
    );
  }
  return {
    name: 'hnsw',
    search(query, k) {
      if (datastore.size === 0)
        return { indices: new Int32Array(0), distances: new Float32Array(0) };
      const matches = index.search(query, Math.min(k, datastore.size), 1);
      return {
        indices: Int32Array.from(matches.keys, key => Number(key)),
        distances: Float32Array.from(matches.distances),
      };
    },
  };
}
