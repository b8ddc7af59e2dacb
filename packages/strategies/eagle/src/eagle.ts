import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type Drafter,
  type DraftTree,
  invariant,
} from '@decodekit/core';
import { HiddenFromLogits, matVec, siluInPlace, topIndices } from '@decodekit/core';
import { checkEagleWeights, type EagleWeights } from './eagle-weights.js';

/** Options of `eagle()`. */
export interface EagleOptions {
  /** The trained drafter (`parseEagleWeights` of a file written by `decodekit train eagle`). */
  weights: EagleWeights;
  /**
   * The target's LM head [vocab, hidden], also its token embedding (tied). Default:
   * `model.embeddingTable()`, present on models converted by decodekit.
   */
  lmHead?: Float32Array;
  /** Depth of the draft tree (drafter steps). Default 6. */
  depth?: number;
  /** Nodes expanded per depth, and children kept per expanded node (EAGLE-2's top_k). Default 4. */
  topK?: number;
  /** Draft tokens kept after the final rerank (EAGLE-2's total_tokens); also the preferred budget. Default 24. */
  totalTokens?: number;
}

interface Node {
  token: number;
  parent: number;
  depth: number;
  /** Cumulative log draft probability of the path. */
  score: number;
  /** The feature predicted at the step that drafted this node: the input of its own expansion. */
  feature: Float32Array;
}

const pseudoInverses = new WeakMap<Float32Array, HiddenFromLogits>();

const positiveInteger = (argument: string, value: number) => {
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError({
      argument,
      message: `must be a positive integer, got ${value}.`,
    });
};

/**
 * EAGLE (Li et al., 2024, https://arxiv.org/abs/2401.15077) with EAGLE-2's dynamic draft tree
 * (https://arxiv.org/abs/2406.16858). The drafter works on features, the target's final hidden states: from
 * the feature f_t of the row that produced the pending token x_{t+1} and the embedding of x_{t+1} it
 * predicts f_{t+1}, whose LM-head distribution drafts x_{t+2}; the predicted feature and the drafted token
 * feed the next step. Here the drafter is `fc` plus one residual MLP block (EAGLE's single decoder layer
 * without its attention: see the README).
 *
 * EAGLE-2's tree: the root's top-k children, then at every depth the top-k nodes by cumulative draft
 * probability are expanded into their top-k children; all nodes are reranked by that probability and the
 * best `totalTokens` kept (a child never outranks its parent, so the kept set is a tree). Rows carry no
 * draft distribution, so core's engine verifies them exactly at every temperature.
 *
 * f_t is read back from the verification logits through the LM head's pseudo-inverse (`HiddenFromLogits`:
 * the engine hands drafters logits, not hidden states); the first step of a generation drafts nothing.
 */
export function eagle({
  weights,
  lmHead,
  depth = 6,
  topK = 4,
  totalTokens = 24,
}: EagleOptions): Drafter {
  if (!weights)
    throw new InvalidArgumentError({
      argument: 'weights',
      message: 'eagle() needs a trained drafter: parseEagleWeights(file contents).',
    });
  checkEagleWeights(weights);
  positiveInteger('depth', depth);
  positiveInteger('topK', topK);
  positiveInteger('totalTokens', totalTokens);
  const { vocabSize, hiddenSize, innerSize, fc, up, down } = weights;
  const input = new Float32Array(2 * hiddenSize);
  const inner = new Float32Array(innerSize);
  const residual = new Float32Array(hiddenSize);
  const logits = new Float32Array(vocabSize);

  let table: Float32Array | undefined;
  /** The target's embedding table, read in `begin`. */
  const embeddings = (): Float32Array => {
    invariant(
      table !== undefined,
      'the drafter reads the embedding table in begin() before it drafts',
    );
    return table;
  };
  let recovery: HiddenFromLogits | undefined;
  let state: { hidden: Float32Array; length: number } | undefined;

  /** One drafter step: the feature after `token` given the feature before it. */
  const step = (feature: Float32Array, token: number): Float32Array => {
    input.set(embeddings().subarray(token * hiddenSize, (token + 1) * hiddenSize), 0);
    input.set(feature, hiddenSize);
    const z = matVec(
      fc.weight,
      hiddenSize,
      2 * hiddenSize,
      input,
      new Float32Array(hiddenSize),
      fc.bias,
    );
    siluInPlace(matVec(up.weight, innerSize, hiddenSize, z, inner, up.bias));
    matVec(down.weight, hiddenSize, innerSize, inner, residual, down.bias);
    for (let i = 0; i < hiddenSize; i++) z[i] += residual[i];
    return z;
  };

  /** The top-k next tokens after `feature` with their log probabilities. */
  const children = (feature: Float32Array): { token: number; logProbability: number }[] => {
    matVec(embeddings(), vocabSize, hiddenSize, feature, logits);
    let max = -Infinity;
    for (let i = 0; i < vocabSize; i++) if (logits[i] > max) max = logits[i];
    let total = 0;
    for (let i = 0; i < vocabSize; i++) total += Math.exp(logits[i] - max);
    const logNormalizer = max + Math.log(total);
    if (!Number.isFinite(logNormalizer)) return []; // a diverged feature drafts nothing
    return topIndices(logits, topK).map(token => ({
      token,
      logProbability: logits[token] - logNormalizer,
    }));
  };

  return {
    name: 'eagle',
    preferredBudget: totalTokens,
    begin({ model }) {
      table = lmHead ?? model.embeddingTable?.();
      if (!table) {
        throw new UnsupportedCapabilityError({
          capability: 'inputEmbeddings',
          backendId: model.capabilities.backendId,
          hint: 'EAGLE needs the target embedding / LM head: use a model converted by decodekit (its tied embedding table) or pass eagle({ lmHead }).',
        });
      }
      if (model.info.vocabSize !== vocabSize || table.length !== vocabSize * hiddenSize) {
        throw new InvalidArgumentError({
          argument: 'weights',
          message: `were trained for ${weights.model} (vocab ${vocabSize}, hidden ${hiddenSize}); the target ${model.info.name} has vocab ${model.info.vocabSize} and an LM head of ${table.length} floats. Train a drafter for this model with \`decodekit train eagle --model ...\`.`,
        });
      }
      recovery = pseudoInverses.get(table);
      if (!recovery)
        pseudoInverses.set(table, (recovery = new HiddenFromLogits(table, vocabSize, hiddenSize)));
      state = undefined;
    },
    propose(context) {
      if (!state || state.length !== context.tokens.length || !table) return undefined;
      const limit = Math.min(totalTokens, context.maxNodes);
      if (limit < 1) return undefined;
      const nodes: Node[] = [];
      const rootFeature = step(state.hidden, context.tokens[context.tokens.length - 1]);
      let layer: number[] = [];
      for (const { token, logProbability } of children(rootFeature)) {
        layer.push(nodes.length);
        nodes.push({ token, parent: -1, depth: 1, score: logProbability, feature: rootFeature });
      }
      for (let level = 2; level <= Math.min(depth, context.remaining); level++) {
        const expand = layer
          .slice()
          .sort((a, b) => nodes[b].score - nodes[a].score)
          .slice(0, topK);
        layer = [];
        for (const index of expand) {
          const parent = nodes[index];
          const feature = step(parent.feature, parent.token);
          for (const { token, logProbability } of children(feature)) {
            layer.push(nodes.length);
            nodes.push({
              token,
              parent: index,
              depth: level,
              score: parent.score + logProbability,
              feature,
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
    observe({ tokens, acceptedRows, emitted, logits: forwardLogits, vocabSize: rowSize }) {
      if (!recovery) return;
      const row = acceptedRows.length > 0 ? acceptedRows[acceptedRows.length - 1] + 1 : 0;
      state = {
        hidden: recovery.recover(forwardLogits.subarray(row * rowSize, (row + 1) * rowSize)),
        length: tokens.length + emitted.length,
      };
    },
    end() {
      state = undefined;
    },
  };
}
