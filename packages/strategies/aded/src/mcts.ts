import { invariant, type RandomSource } from '@decodekit/core';
import { bigramKey } from './aded-store.js';
import type { AdedStore } from './aded-store.js';

/** PUCT constants of the official `mcts_sub.rs`. */
export const C1 = 32;
export const C2 = 8;

/** A search node: a bigram (the previous token, this token). */
interface Node {
  readonly first: number;
  readonly token: number;
  readonly parent: Node | undefined;
  readonly children: Node[];
  /** Whether the bigram has successors in the store (`untried_words` non-empty). */
  readonly expandable: boolean;
  visits: number;
  score: number;
  /** Prior: the tri-gram score of parent bigram → token. */
  readonly prior: number;
}

/**
 * The PUCT score of a child (`putc_score`): Q/n + (c1 + ln((N + c2 + 1) / c2)) · p · √N / (1 + n), infinite
 * for an unvisited child. `parentVisits` is N.
 */
export function puct(score: number, visits: number, prior: number, parentVisits: number): number {
  if (visits === 0) return Infinity;
  return (
    score / visits +
    ((C1 + Math.log((parentVisits + C2 + 1) / C2)) * prior * Math.sqrt(parentVisits)) / (1 + visits)
  );
}

/** Options of one MCTS run. */
export interface MctsOptions {
  /** Iterations (`run(150)`). */
  iterations: number;
  /** Bigrams per simulated sequence, the root included (`sentence_length` 4). */
  sequenceLength: number;
  /** Sequences returned, by visit count (`top_k` 24). */
  topSequences: number;
  random: RandomSource;
}

/**
 * ADED's Monte Carlo tree search over the tri-gram store (official `MCTS::run`): from the root bigram,
 * select by PUCT while the node has children, expand a leaf with all its store successors (priors = their
 * tri-gram scores), roll out by sampling successors ∝ score up to `sequenceLength` bigrams, and back up the
 * reward 1 + Σ tri-gram scores along the simulated sequence. The result is the `topSequences` most visited
 * root paths (root token excluded), each extended by its last bigram's best successor.
 */
export function runMcts(
  store: AdedStore,
  first: number,
  second: number,
  options: MctsOptions,
): number[][] {
  const { iterations, sequenceLength, topSequences, random } = options;
  // Successor lists as arrays, built once per run (the store's maps are the adaptable source of truth).
  const cache = new Map<number, SuccessorList | null>();
  const successorsOf = (a: number, b: number): SuccessorList | null => {
    const key = bigramKey(a, b);
    let list = cache.get(key);
    if (list === undefined) {
      const successors = store.table.get(key);
      list = successors && successors.size > 0 ? toList(successors) : null;
      cache.set(key, list);
    }
    return list;
  };
  const makeNode = (a: number, token: number, parent: Node | undefined, prior: number): Node => ({
    first: a,
    token,
    parent,
    children: [],
    expandable: successorsOf(a, token) !== null,
    visits: 0,
    score: 0,
    prior,
  });
  const root = makeNode(first, second, undefined, 0);
  for (let iteration = 0; iteration < iterations; iteration++) {
    let node = root;
    let length = 1;
    // Reward: 1 + the tri-gram score of every step of the simulated sequence; a tree node's prior is the
    // score of the step into it.
    let reward = 1;
    let end = false;
    // Selection.
    while (node.expandable && node.children.length > 0 && !end) {
      node = selectChild(node);
      reward += node.prior;
      length++;
      if (length === sequenceLength) end = true;
    }
    // Expansion: every successor becomes a child; continue from the last one (as the official code does).
    if (node.expandable && !end) {
      const list = successorsOf(node.first, node.token);
      invariant(list !== null, 'an expandable node has successors');
      for (let i = 0; i < list.tokens.length; i++)
        node.children.push(makeNode(node.token, list.tokens[i], node, list.scores[i]));
      node = node.children[node.children.length - 1];
      reward += node.prior;
      length++;
    }
    // Rollout: sample successors proportionally to their scores.
    let a = node.first;
    let b = node.token;
    while (length < sequenceLength) {
      const list = successorsOf(a, b);
      if (!list) break;
      const index = sampleIndex(list, random);
      reward += list.scores[index];
      a = b;
      b = list.tokens[index];
      length++;
    }
    for (let n: Node | undefined = node; n; n = n.parent) {
      n.visits += 1;
      n.score += reward;
    }
  }
  // Every root path (node) with its visits, the most visited first (stable for ties: discovery order,
  // i.e. depth-first as the official `extract_sentences`); token paths only for the ones kept.
  const visited: { node: Node; depth: number }[] = [];
  const extract = (node: Node, depth: number): void => {
    visited.push({ node, depth });
    if (depth > sequenceLength || node.children.length === 0) return;
    for (const child of node.children) extract(child, depth + 1);
  };
  extract(root, 1);
  visited.sort((x, y) => y.node.visits - x.node.visits);
  const result: number[][] = [];
  for (const { node, depth } of visited.slice(0, topSequences)) {
    const tokens = Array.from({ length: depth }, () => 0);
    let n: Node | undefined = node;
    for (let i = depth - 1; i >= 0 && n; i--, n = n.parent) tokens[i] = n.token;
    if (tokens.length >= 2) {
      const list = successorsOf(tokens[tokens.length - 2], tokens[tokens.length - 1]);
      if (list) tokens.push(list.tokens[list.best]);
    }
    if (tokens.length > 1) result.push(tokens.slice(1));
  }
  return result;
}

/** A bigram's successors as parallel arrays, with their total and the best one's index. */
interface SuccessorList {
  readonly tokens: Int32Array;
  readonly scores: Float64Array;
  readonly total: number;
  readonly best: number;
}

function toList(successors: Map<number, number>): SuccessorList {
  const tokens = new Int32Array(successors.size);
  const scores = new Float64Array(successors.size);
  let total = 0;
  let best = 0;
  let index = 0;
  for (const [token, score] of successors) {
    tokens[index] = token;
    scores[index] = score;
    total += score;
    if (score > scores[best]) best = index;
    index++;
  }
  return { tokens, scores, total, best };
}

/** The child with the highest PUCT score; the first child when none scores above 0 (official `select_child`). */
function selectChild(node: Node): Node {
  let best = node.children[0];
  let bestScore = 0;
  for (const child of node.children) {
    const value = puct(child.score, child.visits, child.prior, node.visits);
    if (value > bestScore) {
      bestScore = value;
      best = child;
    }
  }
  return best;
}

function sampleIndex(list: SuccessorList, random: RandomSource): number {
  const choice = random.next() * list.total;
  let cumulative = 0;
  for (let i = 0; i < list.scores.length; i++) {
    cumulative += list.scores[i];
    if (choice <= cumulative) return i;
  }
  return list.scores.length - 1;
}
