import {
  hiddenStateTracker,
  InvalidArgumentError,
  invariant,
  matVec,
  siluInPlace,
  topIndices,
  type Drafter,
  type DraftTree,
} from '@decodekit/core';
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

  const tracker = hiddenStateTracker({
    id: 'medusa',
    label: 'Medusa',
    noun: 'heads',
    weights,
    lmHead,
  });
  let targetHead: Float32Array | undefined;
  const scratch = new Float32Array(hiddenSize);
  const logits = new Float32Array(vocabSize);

  return {
    name: 'medusa',
    preferredBudget: paths.length,
    begin({ model }) {
      targetHead = tracker.begin(model);
    },
    propose(context) {
      const hidden = tracker.current(context.tokens);
      if (!hidden || !targetHead) return undefined;
      const lmHead = targetHead;
      const h = hidden[hidden.length - 1];
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
    observe(result) {
      tracker.observe(result);
    },
    end() {
      tracker.end();
    },
  };
}

/** The row of a path's parent (paths are listed parents first). */
function parentRow(rowOf: ReadonlyMap<string, number>, path: readonly number[]): number {
  const row = rowOf.get(path.slice(0, -1).join(','));
  invariant(row !== undefined, `the tree lists path ${path.join(',')} before its parent`);
  return row;
}
