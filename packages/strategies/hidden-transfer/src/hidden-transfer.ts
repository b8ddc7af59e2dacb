import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  invariant,
  matVec,
  topIndices,
  type CausalLM,
  type Drafter,
  type DraftTree,
  type Sequence,
} from '@decodekit/core';
import {
  checkHiddenTransferTree,
  checkHiddenTransferWeights,
  type HiddenTransferWeights,
} from './hidden-transfer-weights.js';

/** Options of `hiddenTransfer()`. */
export interface HiddenTransferOptions {
  /** Trained projections (`parseHiddenTransferWeights` of a file written by `decodekit train hidden-transfer`). */
  weights: HiddenTransferWeights;
  /** Sparse tree choices (paths of top-k indices); default the tree stored with the weights. */
  tree?: readonly (readonly number[])[];
  /**
   * The model the draft forwards run on: the target itself, or a copy of it on another backend (it needs
   * `capabilities.hiddenStates`, `layerSkip` and `inputEmbeddings`). Default: the decoder's target. Pass the
   * unwrapped target when the decoder runs a middleware-wrapped one.
   */
  draftModel?: CausalLM;
}

/**
 * Hidden Transfer (Wu et al., 2024, https://arxiv.org/abs/2404.12022): trained linear projections map the
 * target's hidden state after its first `layer` layers at the last context token t to k pseudo hidden states
 * for positions t + 1 .. t + k. The pseudo states enter the target at that layer, pass its remaining layers
 * (attending to the context's keys and values there, and causally to each other) and its final norm and LM
 * head; pseudo state i gives the draft distribution of the token at t + i + 1, the target's own logits at t
 * that of t + 1. Their top-k candidates fill the sparse tree built from measured per-depth accuracy, which
 * core's engine verifies in one forward: exact at every temperature, the rows carry no draft distribution.
 *
 * The "graph split at layer l" is the target's own graph: `skipLayers` bypasses layers, `embeddings` feeds
 * rows in place of token embeddings, `hidden` returns the state through the final norm. A draft is three
 * forwards of the target on a second KV sequence: (1) the tokens emitted since the last draft with the upper
 * layers skipped, whose last `hidden` row is the (normalized) layer-`layer` state of the pending token t;
 * (2) the same tokens through every layer, committed, whose last row gives depth 1; (3) the k pseudo states as
 * input embeddings with the lower layers skipped, never committed.
 *
 * NOTE: the paper injects the pseudo states into the verification forward itself, so drafting is free there;
 * core's `Drafter` contract cannot add rows (or a mid-layer output) to the verification forward, so here the
 * three draft forwards are timed as draft time and not counted in `forwardPasses` (see the README).
 */
export function hiddenTransfer({
  weights,
  tree = weights?.tree,
  draftModel,
}: HiddenTransferOptions): Drafter {
  if (!weights)
    throw new InvalidArgumentError({
      argument: 'weights',
      message:
        'hiddenTransfer() needs trained projections: parseHiddenTransferWeights(file contents).',
    });
  checkHiddenTransferWeights(weights);
  checkHiddenTransferTree(tree, weights.transfers + 1, weights.vocabSize);
  const { vocabSize, hiddenSize, numLayers, layer, transfers } = weights;
  const paths = tree.map(path => [...path]);
  const rowOf = new Map(paths.map((path, row) => [path.join(','), row]));
  const parents = Int32Array.from(paths, path => (path.length === 1 ? -1 : parentRow(rowOf, path)));
  const depth = Math.max(...paths.map(path => path.length));
  const candidatesPerDepth = Array.from({ length: depth }, (_, level) =>
    Math.max(0, ...paths.filter(path => path.length > level).map(path => path[level] + 1)),
  );
  const lowerLayers = Array.from({ length: layer }, (_, i) => i);
  const upperLayers = Array.from({ length: numLayers - layer }, (_, i) => layer + i);
  const pseudo = new Float32Array(transfers * hiddenSize);

  let model: CausalLM | undefined;
  let sequence: Sequence | undefined;

  return {
    name: 'hidden-transfer',
    preferredBudget: paths.length,
    ...(draftModel ? {} : { requires: ['hiddenStates', 'layerSkip', 'inputEmbeddings'] as const }),
    begin(context) {
      model = draftModel ?? context.model;
      checkTarget(model, weights);
      sequence?.dispose();
      sequence = model.createSequence();
    },
    async propose(context) {
      if (!sequence || !model) return undefined;
      const { tokens, signal } = context;
      // Keep the draft sequence a prefix of the context without the pending token.
      const held = sequence.tokens;
      let common = 0;
      const limit = Math.min(held.length, tokens.length - 1);
      while (common < limit && held[common] === tokens[common]) common++;
      if (common < held.length) sequence.truncate(common);
      const fresh = Int32Array.from(tokens.slice(common));
      const last = fresh.length - 1;
      // Pseudo state i sits at position tokens.length - 1 + i and must fit the context.
      const count = Math.max(
        0,
        Math.min(transfers, depth - 1, model.info.contextLength - tokens.length),
      );
      let state: Float32Array | undefined;
      if (count > 0) {
        const split = await sequence.forward(
          { tokens: fresh, skipLayers: upperLayers, hidden: true },
          { signal },
        );
        invariant(split.hidden !== undefined, 'the draft model returns hidden states');
        state = split.hidden.slice(last * hiddenSize, (last + 1) * hiddenSize);
      }
      const full = await sequence.forward({ tokens: fresh }, { signal });
      sequence.commit(Array.from(fresh, (_, row) => row));
      const candidates = [
        topIndices(
          full.logits.subarray(last * vocabSize, (last + 1) * vocabSize),
          candidatesPerDepth[0],
        ),
      ];
      if (state) {
        matVec(weights.weight, transfers * hiddenSize, hiddenSize, state, pseudo, weights.bias);
        // The rows' ids only name them (never committed): the pending token's.
        const ids = new Int32Array(count).fill(fresh[last]);
        const { logits } = await sequence.forward(
          {
            tokens: ids,
            embeddings: pseudo.slice(0, count * hiddenSize),
            skipLayers: lowerLayers,
          },
          { signal },
        );
        sequence.commit([]);
        for (let i = 0; i < count; i++)
          candidates.push(
            topIndices(
              logits.subarray(i * vocabSize, (i + 1) * vocabSize),
              candidatesPerDepth[i + 1],
            ),
          );
      }
      const kept = paths.flatMap((path, index) => (path.length <= count + 1 ? [index] : []));
      const keptRow = new Map(kept.map((index, row) => [index, row]));
      return {
        tokens: Int32Array.from(kept, index => {
          const path = paths[index];
          return candidates[path.length - 1][path[path.length - 1]];
        }),
        parents: Int32Array.from(kept, index =>
          parents[index] < 0 ? -1 : (keptRow.get(parents[index]) ?? -1),
        ),
      } satisfies DraftTree;
    },
    end() {
      sequence?.dispose();
      sequence = undefined;
    },
  };
}

/** Throws typed errors unless `model` serves the split forwards and is the target the weights were trained on. */
function checkTarget(model: CausalLM, weights: HiddenTransferWeights): void {
  const { capabilities, info } = model;
  for (const capability of ['hiddenStates', 'layerSkip', 'inputEmbeddings'] as const) {
    if (!capabilities[capability]) {
      throw new UnsupportedCapabilityError({
        capability,
        backendId: capabilities.backendId,
        hint: 'Hidden Transfer runs the target split at a layer (skip_layers, inputs_embeds, hidden_states): load a model converted by decodekit (not --plain) on the onnx-cpu backend, or pass hiddenTransfer({ draftModel }).',
      });
    }
  }
  if (
    info.vocabSize !== weights.vocabSize ||
    info.hiddenSize !== weights.hiddenSize ||
    info.numLayers !== weights.numLayers
  ) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `were trained for ${weights.model} (vocab ${weights.vocabSize}, hidden ${weights.hiddenSize}, ${weights.numLayers} layers); the target ${info.name} has vocab ${info.vocabSize}, hidden ${info.hiddenSize}, ${info.numLayers} layers. Train projections for this model with \`decodekit train hidden-transfer --model ...\`.`,
    });
  }
}

/** The row of a path's parent (paths are listed parents first). */
function parentRow(rowOf: ReadonlyMap<string, number>, path: readonly number[]): number {
  const row = rowOf.get(path.slice(0, -1).join(','));
  invariant(row !== undefined, `the tree lists path ${path.join(',')} before its parent`);
  return row;
}
