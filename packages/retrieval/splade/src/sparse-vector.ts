import { InvalidArgumentError } from '@decodekit/core';

/**
 * A sparse vector over a vocabulary: `terms[i]` carries `weights[i]`. Terms are unique and sorted ascending,
 * so two vectors can be merged in one pass.
 */
export interface SparseVector {
  /** Term ids (vocabulary ids for SPLADE, analyzer ids for BM25), unique and ascending. [nnz] */
  readonly terms: Int32Array;
  /** Weight of each term. [nnz] */
  readonly weights: Float32Array;
}

/** Dot product of two sparse vectors (the SPLADE relevance score). */
export function sparseDot(a: SparseVector, b: SparseVector): number {
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < a.terms.length && j < b.terms.length) {
    const ta = a.terms[i];
    const tb = b.terms[j];
    if (ta === tb) sum += a.weights[i++] * b.weights[j++];
    else if (ta < tb) i++;
    else j++;
  }
  return sum;
}

/**
 * Keeps the `topK` largest positive entries of a dense weight vector (`topK = 0` keeps every positive entry)
 * and returns them sorted by term id. Ties are broken by the lower term id, so the result is deterministic.
 */
export function pruneTopK(dense: Float32Array, topK: number): SparseVector {
  if (!Number.isInteger(topK) || topK < 0) {
    throw new InvalidArgumentError({
      argument: 'topK',
      message: `topK must be a non-negative integer, got ${topK}`,
    });
  }
  const positive: number[] = [];
  for (let term = 0; term < dense.length; term++) if (dense[term] > 0) positive.push(term);
  let kept = positive;
  if (topK > 0 && positive.length > topK) {
    kept = positive
      .sort((x, y) => dense[y] - dense[x] || x - y)
      .slice(0, topK)
      .sort((x, y) => x - y);
  }
  const terms = Int32Array.from(kept);
  const weights = Float32Array.from(kept, term => dense[term]);
  return { terms, weights };
}

/** A sparse vector from `(term, weight)` pairs; weights of repeated terms are added. */
export function sparseFromEntries(entries: Iterable<readonly [number, number]>): SparseVector {
  const merged = new Map<number, number>();
  for (const [term, weight] of entries) merged.set(term, (merged.get(term) ?? 0) + weight);
  const terms = Int32Array.from([...merged.keys()].sort((x, y) => x - y));
  const weights = Float32Array.from(terms, term => merged.get(term) ?? 0);
  return { terms, weights };
}
