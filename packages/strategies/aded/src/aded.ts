import { InvalidArgumentError, invariant, seededRandom } from '@decodekit/core';
import type { DraftContext, DraftTree, Drafter, RandomSource } from '@decodekit/core';
import { AdedStore, bigramKey } from './aded-store.js';
import { runMcts } from './mcts.js';

/** Options of `aded()`. */
export interface AdedOptions {
  /** The tri-gram datastore, counted with the target's tokenizer (see `buildAdedStore`). */
  store: AdedStore;
  /** Successors kept per bigram when the store is loaded (the official Reader keeps 12). Default 12. */
  topSuccessors?: number;
  /** Tokens at the end of the context whose tri-grams are reinforced before each search. Default 16. */
  adaptWindow?: number;
  /** Added to each reinforced tri-gram's score. Default 0.04. */
  adaptStep?: number;
  /** Cap of a reinforced score. Default 3.0. */
  adaptCap?: number;
  /** MCTS iterations per draft. Default 150. */
  iterations?: number;
  /** Bigrams per simulated sequence, root included. Default 4. */
  sequenceLength?: number;
  /** Most visited sequences taken from the search. Default 24. */
  topSequences?: number;
  /** Most draft tokens (`--num-draft`, also the unique-token budget of `cut_to_choices`). Default 64. */
  numDraft?: number;
  /** Keep the adapted scores across generations (the official Reader does). Default true. */
  persist?: boolean;
  /** Seed of the rollouts; every generation restarts it, so drafts are reproducible. Default 0. */
  seed?: number;
}

/** An ADED drafter with its adapted store exposed. */
export interface AdedDrafter extends Drafter {
  /** The drafter's working copy of the store (pruned and adapted). */
  readonly store: AdedStore;
  /** Synchronous: the search runs in the calling thread. */
  propose(context: DraftContext): DraftTree | undefined;
}

function check(condition: boolean, argument: string, message: string): void {
  if (!condition) throw new InvalidArgumentError({ argument, message });
}

/**
 * ADED (Liu et al., 2024, "Adaptive Draft-Verification for Efficient Large Language Model Decoding",
 * https://arxiv.org/abs/2407.12021; official code liuxukun2000/Adaptix). A train-free retrieval drafter:
 * a tri-gram datastore (pruned to the top-12 successors per bigram) adapts to the current text — before
 * each search every tri-gram in the last 16 tokens gains 0.04 (capped at 3.0) — and a Monte Carlo tree
 * search (150 iterations, PUCT with c1 = 32 and c2 = 8, sequences of 4 bigrams) turns the store into the
 * 24 most visited continuations, each extended by its best successor; they are deduplicated, cut to 64
 * unique tokens and merged into one draft tree, verified in one forward.
 *
 * @example
 * const store = buildAdedStore({ corpus: stories, tokenizer: model.tokenizer });
 * const decoder = createDecoder({ model }).use(speculative({ drafter: aded({ store }), budget: 16 }));
 */
export function aded(options: AdedOptions): AdedDrafter {
  const {
    store,
    topSuccessors = 12,
    adaptWindow = 16,
    adaptStep = 0.04,
    adaptCap = 3,
    iterations = 150,
    sequenceLength = 4,
    topSequences = 24,
    numDraft = 64,
    persist = true,
    seed = 0,
  } = options ?? ({} as AdedOptions);
  check(
    store instanceof AdedStore,
    'store',
    'must be an AdedStore (buildAdedStore or deserializeAdedStore).',
  );
  const integer = (value: number, minimum: number) => Number.isInteger(value) && value >= minimum;
  check(
    integer(topSuccessors, 1),
    'topSuccessors',
    `must be a positive integer, got ${topSuccessors}.`,
  );
  check(integer(adaptWindow, 0), 'adaptWindow', `must be an integer ≥ 0, got ${adaptWindow}.`);
  check(
    adaptStep >= 0 && Number.isFinite(adaptStep),
    'adaptStep',
    `must be ≥ 0, got ${adaptStep}.`,
  );
  check(adaptCap > 0 && Number.isFinite(adaptCap), 'adaptCap', `must be > 0, got ${adaptCap}.`);
  check(integer(iterations, 1), 'iterations', `must be a positive integer, got ${iterations}.`);
  check(
    integer(sequenceLength, 2),
    'sequenceLength',
    `must be an integer ≥ 2, got ${sequenceLength}.`,
  );
  check(
    integer(topSequences, 1),
    'topSequences',
    `must be a positive integer, got ${topSequences}.`,
  );
  check(integer(numDraft, 1), 'numDraft', `must be a positive integer, got ${numDraft}.`);

  const loaded = store.clone().prune(topSuccessors);
  let working = loaded.clone();
  let random: RandomSource = seededRandom(seed >>> 0);

  /** Reinforces the tri-grams of the last `adaptWindow` tokens (official `Reader.search` preamble). */
  function adapt(tokens: readonly number[]): void {
    const start = Math.max(0, tokens.length - adaptWindow);
    for (let i = start; i + 2 < tokens.length; i++) {
      const key = bigramKey(tokens[i], tokens[i + 1]);
      let successors = working.table.get(key);
      if (!successors) working.table.set(key, (successors = new Map()));
      successors.set(
        tokens[i + 2],
        Math.min(adaptCap, (successors.get(tokens[i + 2]) ?? 0) + adaptStep),
      );
    }
  }

  const drafter: AdedDrafter = {
    name: 'aded',
    preferredBudget: numDraft,
    get store() {
      return working;
    },
    begin() {
      if (!persist) working = loaded.clone();
      random = seededRandom(seed >>> 0);
    },
    propose(context: DraftContext): DraftTree | undefined {
      const { tokens } = context;
      if (tokens.length < 2) return undefined;
      adapt(tokens);
      const sequences = runMcts(working, tokens[tokens.length - 2], tokens[tokens.length - 1], {
        iterations,
        sequenceLength,
        topSequences,
        random,
      });
      if (sequences.length === 0) return undefined;
      const paths = cutToChoices(dedupe(sequences), numDraft);
      return context.treeCapable ? trieOf(paths, numDraft) : trieOf(paths.slice(0, 1), numDraft);
    },
  };
  return drafter;
}

function dedupe(paths: number[][]): number[][] {
  const seen = new Set<string>();
  return paths.filter(path => {
    const key = path.join();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The official `cut_to_choices`: while the paths hold more than `choices` unique tokens in total (counted
 * per path), drop the paths with the most unique tokens first.
 */
export function cutToChoices(paths: number[][], choices: number): number[][] {
  const unique = paths.map(path => new Set(path).size);
  let total = unique.reduce((a, b) => a + b, 0);
  const order = paths.map((_, index) => index).sort((a, b) => unique[b] - unique[a]);
  const removed = new Set<number>();
  for (const index of order) {
    if (total <= choices) break;
    total -= unique[index];
    removed.add(index);
  }
  return paths.filter((_, index) => !removed.has(index));
}

/** Merges paths into a draft tree, breadth first (rows of a depth in path order), at most `maxRows` rows. */
export function trieOf(paths: readonly number[][], maxRows: number): DraftTree | undefined {
  const children = new Map<string, number>();
  const nodes: { token: number; parent: number; depth: number }[] = [];
  for (const path of paths) {
    let parent = -1;
    for (const token of path) {
      const key = `${parent}:${token}`;
      let node = children.get(key);
      if (node === undefined) {
        node = nodes.length;
        nodes.push({ token, parent, depth: parent < 0 ? 1 : nodes[parent].depth + 1 });
        children.set(key, node);
      }
      parent = node;
    }
  }
  if (nodes.length === 0) return undefined;
  const order = nodes
    .map((_, index) => index)
    .sort((a, b) => nodes[a].depth - nodes[b].depth || a - b)
    .slice(0, maxRows);
  const row = new Map(order.map((node, index) => [node, index]));
  const kept = order.filter(node => nodes[node].parent < 0 || row.has(nodes[node].parent));
  const finalRow = new Map(kept.map((node, index) => [node, index]));
  return {
    tokens: Int32Array.from(kept, node => nodes[node].token),
    parents: Int32Array.from(kept, node => {
      const { parent } = nodes[node];
      if (parent < 0) return -1;
      const parentRow = finalRow.get(parent);
      invariant(parentRow !== undefined, 'a kept node keeps its parent (rows are sorted by depth)');
      return parentRow;
    }),
  };
}
