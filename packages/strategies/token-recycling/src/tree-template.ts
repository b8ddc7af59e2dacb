import { InvalidArgumentError } from '@decodekit/core';

/**
 * A static draft-tree template: each node is the path of candidate ranks from the root, e.g. `[0, 1]` =
 * "the 2nd candidate of the 1st candidate of the last token". Listed breadth-first.
 */
export type TreeTemplate = readonly (readonly number[])[];

/**
 * The paper's default template, version "2.2.2" of the official code (Luowaterbi/TokenRecycling,
 * `model/recycling/tree_template_.py`): 80 nodes on 6 levels of 8, 21, 25, 15, 8 and 3 nodes, for
 * top-8 candidate rows. Written out here in the official order (which is breadth-first).
 */
export const TREE_TEMPLATE_2_2_2: TreeTemplate = Object.freeze(
  [
    // Level 1: every candidate of the root.
    ...[0, 1, 2, 3, 4, 5, 6, 7].map(a => [a]),
    // Level 2: 8 + 4 + 3 + 2 + 1 + 1 + 1 + 1 = 21.
    ...[8, 4, 3, 2, 1, 1, 1, 1].flatMap((width, a) => range(width).map(b => [a, b])),
    // Level 3: 25.
    ...[8, 3, 2, 1, 1, 1, 1, 1].flatMap((width, b) => range(width).map(c => [0, b, c])),
    [1, 0, 0],
    [1, 0, 1],
    [1, 1, 0],
    [2, 0, 0],
    [3, 0, 0],
    [4, 0, 0],
    [5, 0, 0],
    // Level 4: 15.
    ...range(5).map(d => [0, 0, 0, d]),
    [0, 0, 1, 0],
    [0, 0, 1, 1],
    [0, 0, 2, 0],
    [0, 0, 3, 0],
    [0, 0, 4, 0],
    [0, 1, 0, 0],
    [0, 2, 0, 0],
    [1, 0, 0, 0],
    [2, 0, 0, 0],
    [3, 0, 0, 0],
    // Level 5: 8.
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 1],
    [0, 0, 0, 0, 2],
    [0, 0, 0, 1, 0],
    [0, 0, 0, 2, 0],
    [0, 0, 1, 0, 0],
    [0, 1, 0, 0, 0],
    [1, 0, 0, 0, 0],
    // Level 6: 3.
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 1],
    [0, 0, 0, 1, 0, 0],
  ].map(path => Object.freeze(path)),
);

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A template compiled to flat arrays, breadth-first. */
export interface CompiledTemplate {
  /** Node count. */
  readonly size: number;
  /** Template index of each node's parent, -1 for children of the root. [size] */
  readonly parents: Int32Array;
  /** Candidate rank of each node in its parent's row. [size] */
  readonly ranks: Int32Array;
  /** Depth of each node (children of the root = 1). [size] */
  readonly depths: Int32Array;
  /** Deepest level. */
  readonly maxDepth: number;
}

/**
 * Checks a template and compiles it: every path's ranks are in [0, topK), every proper prefix of a path
 * is itself a node, and no path repeats. Nodes are sorted breadth-first (stable), so parents precede
 * children and the first `maxNodes` nodes always form a tree.
 *
 * @throws InvalidArgumentError naming the offending path.
 */
export function compileTreeTemplate(template: TreeTemplate, topK: number): CompiledTemplate {
  if (!Array.isArray(template) || template.length === 0) {
    throw new InvalidArgumentError({
      argument: 'template',
      message: 'must be a non-empty array of rank paths.',
    });
  }
  const sorted = template
    .map((path, order) => ({ path, order }))
    .sort((a, b) => a.path.length - b.path.length || a.order - b.order)
    .map(({ path }) => path);
  const indexOfPath = new Map<string, number>();
  const size = sorted.length;
  const parents = new Int32Array(size);
  const ranks = new Int32Array(size);
  const depths = new Int32Array(size);
  let maxDepth = 0;
  sorted.forEach((path, node) => {
    const key = path.join(',');
    if (!Array.isArray(path) || path.length === 0) {
      throw new InvalidArgumentError({
        argument: 'template',
        message: 'every node must be a non-empty path of ranks.',
      });
    }
    for (const rank of path) {
      if (!Number.isInteger(rank) || rank < 0 || rank >= topK) {
        throw new InvalidArgumentError({
          argument: 'template',
          message: `node [${key}] uses rank ${rank}, outside the ${topK} candidates kept per token (topK).`,
        });
      }
    }
    if (indexOfPath.has(key)) {
      throw new InvalidArgumentError({
        argument: 'template',
        message: `node [${key}] appears twice.`,
      });
    }
    const parentKey = path.slice(0, -1).join(',');
    const parent = path.length === 1 ? -1 : indexOfPath.get(parentKey);
    if (parent === undefined) {
      throw new InvalidArgumentError({
        argument: 'template',
        message: `node [${key}] has no parent node [${parentKey}].`,
      });
    }
    indexOfPath.set(key, node);
    parents[node] = parent;
    ranks[node] = path[path.length - 1];
    depths[node] = path.length;
    maxDepth = Math.max(maxDepth, path.length);
  });
  return { size, parents, ranks, depths, maxDepth };
}
