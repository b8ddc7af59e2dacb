/** A drafter over the target's hidden states that grows EAGLE-2's dynamic draft tree. */
import { InvalidArgumentError } from '../errors.js';
import type { Drafter } from '../strategy.js';
import type { DraftTree } from '../types.js';
import { topIndices } from './linear-algebra.js';
import { hiddenStateTracker } from './hidden-state-tracker.js';
import type { TrainedHeadHeader } from './weights-file.js';

/**
 * The trained network of a feature drafter, bound to the target's LM head / embedding table.
 * `TState` is what one drafter step hands to the next (EAGLE: the predicted feature).
 */
export interface FeatureDrafterNetwork<TState> {
  /**
   * The state the root is expanded from. `hidden`: the target's recovered final hidden states of the last
   * committed positions, oldest first (as many as `history` allows); the last is the row that produced the
   * pending token, the last of `tokens`.
   */
  initial(hidden: readonly Float32Array[], tokens: readonly number[]): TState;
  /**
   * One drafter step from a node's parent state after the node's `token`: writes the logits of the next
   * token into `logits` [vocab] and returns the state the node's children are expanded from. `depth` is
   * the depth of the children drafted from these logits (1 = children of the root).
   */
  step(state: TState, token: number, depth: number, logits: Float32Array): TState;
}

/** EAGLE-2's dynamic tree sizes. */
export interface DynamicTreeOptions {
  /** Depth of the draft tree (drafter steps). Default 6. */
  depth?: number;
  /** Nodes expanded per depth, and children kept per expanded node (EAGLE-2's top_k). Default 4. */
  topK?: number;
  /** Draft tokens kept after the final rerank (EAGLE-2's total_tokens); also the preferred budget. Default 24. */
  totalTokens?: number;
}

/** Options of a feature drafter made from trained weights (`eagle()`, `fspad()`, ...). */
export interface TrainedFeatureDrafterOptions<TWeights> extends DynamicTreeOptions {
  /** The trained drafter (parsed from a file written by `decodekit train <id>`). */
  weights: TWeights;
  /**
   * The target's LM head [vocab, hidden], also its token embedding (tied). Default:
   * `model.embeddingTable()`, present on models converted by decodekit.
   */
  lmHead?: Float32Array;
}

/** Options of `featureDrafter`. */
export interface FeatureDrafterOptions<TState> extends DynamicTreeOptions {
  /** Strategy id (`eagle`), as in `decodekit train <id>`. */
  id: string;
  /** Name in messages (`EAGLE`). */
  label: string;
  /** The header of the trained weights (target name and sizes), checked against the target in `begin`. */
  weights: TrainedHeadHeader;
  /** The target's LM head [vocab, hidden]; default `model.embeddingTable()`. */
  lmHead?: Float32Array;
  /** Recovered hidden states `initial` reads (1: only the last). Default 1. */
  history?: number;
  /** Binds the trained network to the target's LM head / embedding table (called in every `begin`). */
  network: (table: Float32Array) => FeatureDrafterNetwork<TState>;
}

interface Node<TState> {
  token: number;
  parent: number;
  depth: number;
  /** Cumulative log draft probability of the path. */
  score: number;
  /** The state of the step that drafted this node: the input of its own expansion. */
  state: TState;
}

/** Throws InvalidArgumentError unless `value` is a positive integer. */
export function checkPositiveInteger(argument: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError({
      argument,
      message: `must be a positive integer, got ${value}.`,
    });
}

/** The top-k tokens of `logits` with their log probabilities (a diverged state drafts nothing). */
function topLogProbabilities(
  logits: Float32Array,
  k: number,
): { token: number; logProbability: number }[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp(logits[i] - max);
  const logNormalizer = max + Math.log(total);
  if (!Number.isFinite(logNormalizer)) return [];
  return topIndices(logits, k).map(token => ({
    token,
    logProbability: logits[token] - logNormalizer,
  }));
}

/**
 * A drafter over the target's final hidden states (EAGLE, FSPAD, Chimera) with EAGLE-2's dynamic draft tree
 * (https://arxiv.org/abs/2406.16858): the root's top-k children, then at every depth the top-k nodes by
 * cumulative draft probability are expanded into their top-k children; all nodes are reranked by that
 * probability and the best `totalTokens` kept (a child never outranks its parent, so the kept set is a
 * tree). Rows carry no draft distribution, so core's engine verifies them exactly at every temperature.
 *
 * Hidden states come from the verification logits (`hiddenStateTracker`); the first step of a generation
 * drafts nothing.
 */
export function featureDrafter<TState>({
  id,
  label,
  weights,
  lmHead,
  history = 1,
  network: bind,
  depth = 6,
  topK = 4,
  totalTokens = 24,
}: FeatureDrafterOptions<TState>): Drafter {
  checkPositiveInteger('depth', depth);
  checkPositiveInteger('topK', topK);
  checkPositiveInteger('totalTokens', totalTokens);
  checkPositiveInteger('history', history);
  const tracker = hiddenStateTracker({ id, label, weights, lmHead, history });
  const logits = new Float32Array(weights.vocabSize);
  let network: FeatureDrafterNetwork<TState> | undefined;

  return {
    name: id,
    preferredBudget: totalTokens,
    begin({ model }) {
      network = bind(tracker.begin(model));
    },
    propose(context) {
      const hidden = tracker.current(context.tokens);
      if (!hidden || !network) return undefined;
      const limit = Math.min(totalTokens, context.maxNodes);
      if (limit < 1) return undefined;
      const nodes: Node<TState>[] = [];
      const rootState = network.step(
        network.initial(hidden, context.tokens),
        context.tokens[context.tokens.length - 1],
        1,
        logits,
      );
      let layer: number[] = [];
      for (const { token, logProbability } of topLogProbabilities(logits, topK)) {
        layer.push(nodes.length);
        nodes.push({ token, parent: -1, depth: 1, score: logProbability, state: rootState });
      }
      for (let level = 2; level <= Math.min(depth, context.remaining); level++) {
        const expand = layer
          .slice()
          .sort((a, b) => nodes[b].score - nodes[a].score)
          .slice(0, topK);
        layer = [];
        for (const index of expand) {
          const parent = nodes[index];
          const state = network.step(parent.state, parent.token, level, logits);
          for (const { token, logProbability } of topLogProbabilities(logits, topK)) {
            layer.push(nodes.length);
            nodes.push({
              token,
              parent: index,
              depth: level,
              score: parent.score + logProbability,
              state,
            });
          }
        }
      }
      // Rerank: best paths first; a child never scores above its parent, and ties go to the shallower node.
      const order = nodes
        .map((_, index) => index)
        .sort((a, b) => nodes[b].score - nodes[a].score || nodes[a].depth - nodes[b].depth || a - b)
        .slice(0, limit);
      const rowOf = new Map(order.map((index, row) => [index, row]));
      const tokens = new Int32Array(order.length);
      const parents = new Int32Array(order.length);
      order.forEach((index, row) => {
        const node = nodes[index];
        tokens[row] = node.token;
        parents[row] = node.parent < 0 ? -1 : (rowOf.get(node.parent) ?? row);
      });
      // A parent always precedes its children in `order` (scores are finite and never rise along a path).
      if (parents.some((parent, row) => parent >= row)) return undefined;
      return { tokens, parents } satisfies DraftTree;
    },
    observe(result) {
      tracker.observe(result);
    },
    end() {
      tracker.end();
    },
  };
}
