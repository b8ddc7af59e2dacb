import { InvalidArgumentError } from '@decodekit/core';

/**
 * Medusa's sparse tree (Cai et al., 2024, §3.1.2): with `accuracy[head][rank]` the measured probability
 * that head's rank-th candidate is the right token, a path's expected acceptance is the product of its
 * nodes' accuracies (heads taken as independent); the tree grows greedily by the path of highest expected
 * acceptance whose parent is already in it, until it has `size` nodes. Returns the paths best first, which
 * keeps parents before children.
 */
export function buildSparseTree(
  accuracy: readonly (readonly number[])[],
  size: number,
): number[][] {
  if (!Number.isInteger(size) || size < 1) {
    throw new InvalidArgumentError({
      argument: 'size',
      message: `must be a positive integer, got ${size}.`,
    });
  }
  if (accuracy.length === 0 || accuracy.some(row => row.length === 0)) {
    throw new InvalidArgumentError({
      argument: 'accuracy',
      message: 'needs at least one rank per head.',
    });
  }
  const frontier: { path: number[]; value: number }[] = accuracy[0].map((value, rank) => ({
    path: [rank],
    value,
  }));
  const tree: number[][] = [];
  while (tree.length < size && frontier.length > 0) {
    let best = 0;
    for (let i = 1; i < frontier.length; i++)
      if (frontier[i].value > frontier[best].value) best = i;
    const [{ path, value }] = frontier.splice(best, 1);
    tree.push(path);
    const next = accuracy[path.length];
    if (next)
      next.forEach((accuracyOfRank, rank) =>
        frontier.push({ path: [...path, rank], value: value * accuracyOfRank }),
      );
  }
  return tree;
}
