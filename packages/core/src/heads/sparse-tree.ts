import { InvalidArgumentError } from '../errors.js';

/**
 * Checks the paths of a static sparse draft tree (Medusa's and PPD's "tree choices"): at least one path; every
 * path lists top-k indices (< `vocabSize`), one per depth, at most `maxDepth` deep; each path is listed once and
 * after its parent path. Throws `InvalidArgumentError` naming the first bad path.
 * @param tree the paths
 * @param maxDepth the deepest path allowed
 * @param vocabSize bound of every index
 * @param depths what a depth stands for, for the message (e.g. "one per head")
 */
export function checkSparseTreePaths(
  tree: readonly (readonly number[])[],
  maxDepth: number,
  vocabSize: number,
  depths: string,
): void {
  if (!Array.isArray(tree) || tree.length === 0) {
    throw new InvalidArgumentError({
      argument: 'tree',
      message: 'needs at least one path, e.g. [[0], [0, 0], [1]].',
    });
  }
  const seen = new Set<string>(['']);
  for (const path of tree) {
    const valid =
      Array.isArray(path) &&
      path.length >= 1 &&
      path.length <= maxDepth &&
      path.every(index => Number.isInteger(index) && index >= 0 && index < vocabSize) &&
      seen.has(path.slice(0, -1).join(',')) &&
      !seen.has(path.join(','));
    if (!valid) {
      throw new InvalidArgumentError({
        argument: 'tree',
        message: `path ${JSON.stringify(path)} is invalid: paths list top-k indices (${depths}, at most ${maxDepth} deep), each listed once and after its parent path.`,
      });
    }
    seen.add(path.join(','));
  }
}
