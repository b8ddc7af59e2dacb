import { InvalidArgumentError } from '../errors.js';
import type { DraftTree } from '../types.js';

/** Builds a draft tree from a single chain of tokens. */
export function chainTree(tokens: ArrayLike<number>, q?: ArrayLike<number>): DraftTree {
  const parents = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) parents[i] = i - 1;
  return { tokens: Int32Array.from(tokens), parents, q: q ? Float32Array.from(q) : undefined };
}

/** Depth of every row (roots attached to the context have depth 1). [rows] */
export function treeDepths(parents: Int32Array): Int32Array {
  const depths = new Int32Array(parents.length);
  for (let i = 0; i < parents.length; i++) depths[i] = parents[i] < 0 ? 1 : depths[parents[i]] + 1;
  return depths;
}

/** True when the tree is one chain (row i's parent is i - 1). */
export function isChain(parents: Int32Array): boolean {
  for (let i = 0; i < parents.length; i++) if (parents[i] !== i - 1) return false;
  return true;
}

/**
 * Checks a drafter's tree and shapes it for one verification: parents must precede children, siblings
 * must carry distinct tokens (duplicates are dropped with their subtrees), at most `maxNodes` rows and
 * depth `maxDepth` are kept (rows are kept in the drafter's order, so drafters list their best rows first),
 * and `chainOnly` keeps only the path through every node's first child.
 */
export function shapeDraftTree(
  tree: DraftTree,
  {
    maxNodes,
    maxDepth,
    chainOnly,
    vocabSize,
  }: { maxNodes: number; maxDepth: number; chainOnly: boolean; vocabSize: number },
): DraftTree {
  const { tokens, parents } = tree;
  if (tokens.length !== parents.length) {
    throw new InvalidArgumentError({
      argument: 'draft',
      message: `tokens (${tokens.length}) and parents (${parents.length}) differ in length.`,
    });
  }
  const keep: number[] = [];
  const newIndex = new Int32Array(tokens.length).fill(-2);
  const depth = new Int32Array(tokens.length);
  const childTokens = new Map<number, Set<number>>();
  const hasChild = new Set<number>();
  for (let i = 0; i < tokens.length && keep.length < maxNodes; i++) {
    const parent = parents[i];
    if (parent >= i || parent < -1) {
      throw new InvalidArgumentError({
        argument: 'draft',
        message: `row ${i} has parent ${parent}; parents must precede their children.`,
      });
    }
    const token = tokens[i];
    if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
      throw new InvalidArgumentError({
        argument: 'draft',
        message: `row ${i} has token ${token}, outside the vocabulary.`,
      });
    }
    if (parent >= 0 && newIndex[parent] < 0) continue; // parent dropped
    const d = parent < 0 ? 1 : depth[parent] + 1;
    if (d > maxDepth) continue;
    const siblings = childTokens.get(parent) ?? new Set<number>();
    if (siblings.has(token)) continue;
    if (chainOnly && hasChild.has(parent)) continue;
    siblings.add(token);
    childTokens.set(parent, siblings);
    hasChild.add(parent);
    depth[i] = d;
    newIndex[i] = keep.length;
    keep.push(i);
  }
  if (keep.length === tokens.length) return tree;
  const shapedTokens = new Int32Array(keep.length);
  const shapedParents = new Int32Array(keep.length);
  const q = tree.q ? new Float32Array(keep.length) : undefined;
  const vocab = tree.qDistributions ? tree.qDistributions.length / tokens.length : 0;
  const qDistributions = tree.qDistributions ? new Float32Array(keep.length * vocab) : undefined;
  keep.forEach((row, index) => {
    shapedTokens[index] = tokens[row];
    shapedParents[index] = parents[row] < 0 ? -1 : newIndex[parents[row]];
    if (q && tree.q) q[index] = tree.q[row];
    if (qDistributions && tree.qDistributions) {
      qDistributions.set(
        tree.qDistributions.subarray(row * vocab, (row + 1) * vocab),
        index * vocab,
      );
    }
  });
  return { tokens: shapedTokens, parents: shapedParents, q, qDistributions };
}

/** The rows of `tree` whose `keep` flag is set (a kept row's parent must be kept too), renumbered. */
export function keepRows(tree: DraftTree, keep: Uint8Array): DraftTree {
  const rows = tree.tokens.length;
  const newIndex = new Int32Array(rows).fill(-1);
  let count = 0;
  for (let row = 0; row < rows; row++) if (keep[row]) newIndex[row] = count++;
  if (count === rows) return tree;
  const tokens = new Int32Array(count);
  const parents = new Int32Array(count);
  const q = tree.q ? new Float32Array(count) : undefined;
  const vocab = tree.qDistributions ? tree.qDistributions.length / rows : 0;
  const qDistributions = tree.qDistributions ? new Float32Array(count * vocab) : undefined;
  for (let row = 0; row < rows; row++) {
    const index = newIndex[row];
    if (index < 0) continue;
    tokens[index] = tree.tokens[row];
    parents[index] = tree.parents[row] < 0 ? -1 : newIndex[tree.parents[row]];
    if (q && tree.q) q[index] = tree.q[row];
    if (qDistributions && tree.qDistributions) {
      qDistributions.set(
        tree.qDistributions.subarray(row * vocab, (row + 1) * vocab),
        index * vocab,
      );
    }
  }
  return { tokens, parents, q, qDistributions };
}
