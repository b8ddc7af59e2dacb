/**
 * nDCG@k (Järvelin & Kekäläinen, 2002) of one ranking with graded relevance: DCG = Σ rel_i / log2(i + 1) over
 * the first k ranks, divided by the DCG of the ideal ordering. 0 when nothing is relevant.
 */
export function ndcgAtK(
  ranking: readonly string[],
  relevance: ReadonlyMap<string, number>,
  k: number,
): number {
  let dcg = 0;
  ranking.slice(0, k).forEach((id, i) => {
    dcg += (relevance.get(id) ?? 0) / Math.log2(i + 2);
  });
  const ideal = [...relevance.values()]
    .filter(value => value > 0)
    .sort((a, b) => b - a)
    .slice(0, k);
  const idcg = ideal.reduce((sum, value, i) => sum + value / Math.log2(i + 2), 0);
  return idcg === 0 ? 0 : dcg / idcg;
}
