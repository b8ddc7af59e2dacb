import { bm25TermWeight } from '@decodekit/core';
import type { ScoredId } from './sparse-store.js';

export { bm25Idf } from '@decodekit/core';

/** Best-first top `k` of accumulated scores; ties go to the lower id; zero scores are dropped. */
export function topScores(scores: Map<string, number>, k: number): ScoredId[] {
  const hits: ScoredId[] = [];
  for (const [id, score] of scores) if (score > 0) hits.push({ id, score });
  hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return hits.slice(0, k);
}

/**
 * BM25 term weight of one posting.
 * @deprecated Use `bm25TermWeight` from `@decodekit/core` (this is it); removed in the next minor version.
 */
export const bm25Term = bm25TermWeight;
