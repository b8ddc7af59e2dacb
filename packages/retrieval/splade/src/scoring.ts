import type { Bm25Parameters, ScoredId } from './sparse-store.js';

/** Best-first top `k` of accumulated scores; ties go to the lower id; zero scores are dropped. */
export function topScores(scores: Map<string, number>, k: number): ScoredId[] {
  const hits: ScoredId[] = [];
  for (const [id, score] of scores) if (score > 0) hits.push({ id, score });
  hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return hits.slice(0, k);
}

/** Lucene's BM25 idf: ln(1 + (N − df + 0.5) / (df + 0.5)). */
export function bm25Idf(documentCount: number, documentFrequency: number): number {
  return Math.log(1 + (documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/** BM25 term weight of one posting. */
export function bm25Term(
  idf: number,
  termFrequency: number,
  documentLength: number,
  averageLength: number,
  { k1, b }: Bm25Parameters,
): number {
  const norm = k1 * (1 - b + (b * documentLength) / (averageLength || 1));
  return (idf * termFrequency * (k1 + 1)) / (termFrequency + norm);
}
