import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type ModelMiddleware,
} from '@decodekit/core';
import type { Datastore } from './datastore.js';
import type { NeighborSearch } from './neighbor-search.js';

/** Options of `knnLm`. */
export interface KnnLmOptions {
  readonly datastore: Datastore;
  /** How neighbors are found (`exactSearch(datastore)` or `hnswSearch(datastore)`). */
  readonly search: NeighborSearch;
  /** Interpolation weight λ of p_kNN in [0, 1]: p = λ·p_kNN + (1 − λ)·p_LM. Default 0.25 (in-domain). */
  readonly lambda?: number;
  /** Neighbors per position. Default 16. */
  readonly k?: number;
  /** Softmax temperature over negative squared distances: p_kNN(y) ∝ Σ_{v_i = y} exp(−d_i / T). Default 1. */
  readonly temperature?: number;
  /** Called with the kNN distribution's entropy (nats) for every row (the paper's retrieval-entropy study). */
  readonly onRetrieval?: (info: {
    readonly entropy: number;
    readonly nearestDistance: number;
  }) => void;
}

/**
 * kNN-LM (Khandelwal et al., 2020) as model middleware: every forward also returns hidden states, each row's
 * nearest datastore keys vote for their next tokens, and the returned logits are log(λ·p_kNN + (1 − λ)·p_LM).
 * Downstream softmax then yields the interpolated distribution, so every strategy and processor works on
 * the kNN-LM. λ = 0 returns the model's logits untouched. Needs `capabilities.hiddenStates`.
 * "KNN-LM Does Not Improve Open-ended Text Generation" (Wang et al., 2023) is why this is a perplexity tool.
 */
export function knnLm({
  datastore,
  search,
  lambda = 0.25,
  k = 16,
  temperature = 1,
  onRetrieval,
}: KnnLmOptions): ModelMiddleware {
  if (!(lambda >= 0 && lambda <= 1))
    throw new InvalidArgumentError({
      argument: 'lambda',
      message: `lambda must be in [0, 1], got ${lambda}`,
    });
  if (!Number.isInteger(k) || k < 1)
    throw new InvalidArgumentError({
      argument: 'k',
      message: `k must be a positive integer, got ${k}`,
    });
  if (!(temperature > 0))
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: `temperature must be > 0, got ${temperature}`,
    });
  return {
    name: `knn-lm(λ=${lambda},k=${k},T=${temperature})`,
    transformCapabilities(capabilities) {
      if (!capabilities.hiddenStates) {
        throw new UnsupportedCapabilityError({
          capability: 'hiddenStates',
          backendId: 'knn-lm',
          hint: 'kNN-LM queries the datastore with hidden states.',
        });
      }
      return capabilities;
    },
    async wrapForward({ input, options, doForward }) {
      if (lambda === 0 || datastore.size === 0) return doForward(input, options);
      const output = await doForward({ ...input, hidden: true }, options);
      const hidden = output.hidden;
      if (!hidden)
        throw new UnsupportedCapabilityError({ capability: 'hiddenStates', backendId: 'knn-lm' });
      const rows = input.tokens.length;
      const vocab = output.logits.length / rows;
      const dimensions = datastore.dimensions;
      const logits = new Float32Array(output.logits.length);
      const knn = new Float64Array(vocab);
      for (let row = 0; row < rows; row++) {
        const neighbors = search.search(
          hidden.subarray(row * dimensions, (row + 1) * dimensions),
          k,
        );
        knn.fill(0);
        // Softmax over −d/T, shifted by the nearest distance for stability.
        const nearest = neighbors.distances.length ? neighbors.distances[0] : 0;
        let total = 0;
        neighbors.indices.forEach((index, i) => {
          const weight = Math.exp(-(neighbors.distances[i] - nearest) / temperature);
          knn[datastore.values[index]] += weight;
          total += weight;
        });
        let entropy = 0;
        for (let token = 0; token < vocab; token++) {
          knn[token] /= total;
          if (knn[token] > 0) entropy -= knn[token] * Math.log(knn[token]);
        }
        onRetrieval?.({ entropy, nearestDistance: nearest });
        const offset = row * vocab;
        let max = -Infinity;
        for (let token = 0; token < vocab; token++)
          max = Math.max(max, output.logits[offset + token]);
        let sum = 0;
        for (let token = 0; token < vocab; token++)
          sum += Math.exp(output.logits[offset + token] - max);
        for (let token = 0; token < vocab; token++) {
          const lm = Math.exp(output.logits[offset + token] - max) / sum;
          logits[offset + token] = Math.log(lambda * knn[token] + (1 - lambda) * lm);
        }
      }
      return input.hidden ? { logits, hidden } : { logits };
    },
  };
}
