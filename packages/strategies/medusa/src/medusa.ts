import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type CausalLM,
  type Drafter,
  type DraftTree,
  invariant,
} from '@decodekit/core';
import { HiddenFromLogits, matVec, siluInPlace, topIndices } from '@decodekit/core';
import { checkMedusaWeights, checkTree, type MedusaWeights } from './medusa-weights.js';

/** Options of `medusa()`. */
export interface MedusaOptions {
  /** Trained heads (`parseMedusaWeights` of a file written by `decodekit train medusa`). */
  weights: MedusaWeights;
  /**
   * The target's LM head [vocab, hidden] (Llama: no bias). Default: `model.embeddingTable()`, the tied
   * embedding of models converted by decodekit. Used to read the hidden state back from the logits and as
   * the LM head of heads that have none of their own.
   */
  lmHead?: Float32Array;
  /** Sparse tree choices (paths of top-k indices); default the tree stored with the weights. */
  tree?: readonly (readonly number[])[];
}

const pseudoInverses = new WeakMap<Float32Array, HiddenFromLogits>();

/**
 * Medusa (Cai et al., 2024, https://arxiv.org/abs/2401.10774), Medusa-1: k heads over the target's last
 * hidden state h_t; head i is the residual block h + SiLU(W_i h + b_i) followed by an LM head and predicts
 * the token at t + i + 1 (the target's own LM head predicts t + 1, the pending token). The heads' top-k
 * candidates are laid out as Medusa's sparse tree, which core's engine verifies in one forward: exact at
 * every temperature, because the rows carry no draft distribution.
 *
 * h_t is the final hidden state of the row that produced the pending token. The engine hands drafters the
 * verification logits, not hidden states; since l = E h with a bias-free LM head E of full column rank
 * (vocab > hidden), h is read back from that row's logits exactly (`HiddenFromLogits`). The first step of a
 * generation has no such row yet and drafts nothing.
 */
export function medusa({ weights, lmHead, tree = weights?.tree }: MedusaOptions): Drafter {
  if (!weights)
    throw new InvalidArgumentError({
      argument: 'weights',
      message: 'medusa() needs trained heads: parseMedusaWeights(file contents).',
    });
  checkMedusaWeights(weights);
  checkTree(tree, weights.heads.length, weights.vocabSize);
  const { vocabSize, hiddenSize, heads } = weights;
  // Rows in tree order; parent row of each path, and how many candidates each head must rank.
  const paths = tree.map(path => [...path]);
  const rowOf = new Map(paths.map((path, row) => [path.join(','), row]));
  const parents = Int32Array.from(paths, path => (path.length === 1 ? -1 : parentRow(rowOf, path)));
  const depth = Math.max(...paths.map(path => path.length));
  const candidatesPerHead = Array.from({ length: depth }, (_, head) =>
    Math.max(0, ...paths.filter(path => path.length > head).map(path => path[head] + 1)),
  );

  let recovery: HiddenFromLogits | undefined;
  let targetHead: Float32Array | undefined;
  // Hidden state of the row that produced the pending token, valid while the context has `length` tokens.
  let state: { hidden: Float32Array; length: number } | undefined;
  const scratch = new Float32Array(hiddenSize);
  const logits = new Float32Array(vocabSize);

  return {
    name: 'medusa',
    preferredBudget: paths.length,
    begin({ model }) {
      targetHead = lmHead ?? model.embeddingTable?.();
      if (!targetHead) {
        throw new UnsupportedCapabilityError({
          capability: 'inputEmbeddings',
          backendId: model.capabilities.backendId,
          hint: 'Medusa needs the target LM head: use a model converted by decodekit (its tied embedding table) or pass medusa({ lmHead }).',
        });
      }
      checkTarget(model, weights, targetHead);
      recovery = pseudoInverses.get(targetHead);
      if (!recovery)
        pseudoInverses.set(
          targetHead,
          (recovery = new HiddenFromLogits(targetHead, vocabSize, hiddenSize)),
        );
      state = undefined;
    },
    propose(context) {
      if (!state || state.length !== context.tokens.length || !targetHead) return undefined;
      const lmHead = targetHead;
      const h = state.hidden;
      const candidates = heads.slice(0, depth).map((head, index) => {
        matVec(head.weight, hiddenSize, hiddenSize, h, scratch, head.bias);
        siluInPlace(scratch);
        for (let i = 0; i < hiddenSize; i++) scratch[i] += h[i];
        matVec(head.lmHead ?? lmHead, vocabSize, hiddenSize, scratch, logits);
        return topIndices(logits, candidatesPerHead[index]);
      });
      const tokens = Int32Array.from(
        paths,
        path => candidates[path.length - 1][path[path.length - 1]],
      );
      return { tokens, parents: parents.slice() } satisfies DraftTree;
    },
    observe({ tokens, acceptedRows, emitted, logits: forwardLogits, vocabSize: rowSize }) {
      if (!recovery) return;
      // The bonus token was drawn from the last accepted row (row 0: the pending token).
      const row = acceptedRows.length > 0 ? acceptedRows[acceptedRows.length - 1] + 1 : 0;
      const hidden = recovery.recover(forwardLogits.subarray(row * rowSize, (row + 1) * rowSize));
      state = { hidden, length: tokens.length + emitted.length };
    },
    end() {
      state = undefined;
    },
  };
}

function checkTarget(model: CausalLM, weights: MedusaWeights, lmHead: Float32Array): void {
  if (
    model.info.vocabSize !== weights.vocabSize ||
    lmHead.length !== weights.vocabSize * weights.hiddenSize
  ) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `were trained for ${weights.model} (vocab ${weights.vocabSize}, hidden ${weights.hiddenSize}); the target ${model.info.name} has vocab ${model.info.vocabSize} and an LM head of ${lmHead.length} floats. Train heads for this model with \`decodekit train medusa --model ...\`.`,
    });
  }
}

/** The row of a path's parent (paths are listed parents first). */
function parentRow(rowOf: ReadonlyMap<string, number>, path: readonly number[]): number {
  const row = rowOf.get(path.slice(0, -1).join(','));
  invariant(row !== undefined, `the tree lists path ${path.join(',')} before its parent`);
  return row;
}
