/** @internal Naive full-sort references for top-p and typical sampling (float64 throughout). */
export function referenceKept(
  logits: readonly number[],
  mass: number,
  mode: 'top-p' | 'typical',
): number[] {
  const row = Float32Array.from(logits);
  const finite = [...row.keys()].filter(i => row[i] !== -Infinity);
  if (finite.length === 0) return [];
  const max = Math.max(...finite.map(i => row[i]));
  const sum = finite.reduce((total, i) => total + Math.exp(row[i] - max), 0);
  const logProbability = (i: number) => row[i] - max - Math.log(sum);
  const entropy = finite.reduce(
    (total, i) => total - Math.exp(logProbability(i)) * logProbability(i),
    0,
  );
  const score = (i: number) =>
    mode === 'top-p' ? row[i] : -Math.abs(-logProbability(i) - entropy);
  const order = finite.sort((a, b) => score(b) - score(a) || a - b);
  let cumulative = 0;
  const kept: number[] = [];
  for (const i of order) {
    kept.push(i);
    cumulative += Math.exp(logProbability(i));
    if (cumulative >= mass) break;
  }
  return kept.sort((a, b) => a - b);
}
