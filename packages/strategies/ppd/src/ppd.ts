import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  invariant,
  topIndices,
  type CausalLM,
  type Drafter,
  type DraftTree,
  type Sequence,
} from '@decodekit/core';
import { checkPpdTree, checkPpdWeights, promptTokenCount, type PpdWeights } from './ppd-weights.js';

/** Options of `ppd()`. */
export interface PpdOptions {
  /** Trained prompt tokens (`parsePpdWeights` of a file written by `decodekit train ppd`). */
  weights: PpdWeights;
  /** Sparse tree choices (paths of top-k indices); default the tree stored with the weights. */
  tree?: readonly (readonly number[])[];
  /**
   * The model the prompt tokens run through (needs `capabilities.inputEmbeddings` and `embeddingTable()`).
   * Default: the decoder's target. Pass the unwrapped target when the decoder runs a middleware-wrapped one.
   */
  draftModel?: CausalLM;
}

/**
 * Parallel Prompt Decoding (Chen et al., 2024, https://arxiv.org/abs/2405.18628): k prompt tokens
 * [P1]..[Pk] whose input embeddings were trained with the target frozen, so that appended after the
 * context the target's own logits at [Pi] predict the token i + 1 positions after the next one. Drafting is
 * one forward of the target on a second KV sequence: the tokens emitted since the last draft, then the k
 * prompt embeddings (through `forward({ embeddings })`). The next token's top-k (the target's logits at the
 * pending row) and each [Pi]'s top-k fill the sparse tree built from measured per-depth acceptance; core's
 * engine verifies it in one forward, exact at every temperature because the rows carry no draft distribution.
 *
 * NOTE: the paper fuses drafting into verification (prompt tokens appended to every tree node of the
 * verification forward); the speculative engine has no hook to append rows, so here a step costs two target
 * forwards, and the draft forward is timed as draft time, not counted in `forwardPasses`.
 */
export function ppd({ weights, tree = weights?.tree, draftModel }: PpdOptions): Drafter {
  if (!weights)
    throw new InvalidArgumentError({
      argument: 'weights',
      message: 'ppd() needs trained prompt tokens: parsePpdWeights(file contents).',
    });
  checkPpdWeights(weights);
  const promptTokens = promptTokenCount(weights);
  checkPpdTree(tree, promptTokens + 1, weights.vocabSize);
  const { vocabSize, hiddenSize } = weights;
  const paths = tree.map(path => [...path]);
  const rowOf = new Map(paths.map((path, row) => [path.join(','), row]));
  const parents = Int32Array.from(paths, path => (path.length === 1 ? -1 : parentRow(rowOf, path)));
  const depth = Math.max(...paths.map(path => path.length));
  const candidatesPerDepth = Array.from({ length: depth }, (_, level) =>
    Math.max(0, ...paths.filter(path => path.length > level).map(path => path[level] + 1)),
  );

  let model: CausalLM | undefined;
  let table: Float32Array | undefined;
  let sequence: Sequence | undefined;

  return {
    name: 'ppd',
    preferredBudget: paths.length,
    ...(draftModel ? {} : { requires: ['inputEmbeddings'] as const }),
    begin(context) {
      model = draftModel ?? context.model;
      table = model.capabilities.inputEmbeddings ? model.embeddingTable?.() : undefined;
      if (!table) {
        throw new UnsupportedCapabilityError({
          capability: 'inputEmbeddings',
          backendId: model.capabilities.backendId,
          hint: 'PPD appends trained prompt embeddings: load a model converted by decodekit (its graph takes inputs_embeds) or pass ppd({ draftModel }).',
        });
      }
      checkTarget(model, weights, table);
      sequence?.dispose();
      sequence = model.createSequence();
    },
    async propose(context) {
      if (!sequence || !table || !model) return undefined;
      const tokenTable = table;
      const { tokens } = context;
      // Keep the draft sequence a prefix of the context (it only ever holds emitted tokens).
      const held = sequence.tokens;
      let common = 0;
      const limit = Math.min(held.length, tokens.length - 1);
      while (common < limit && held[common] === tokens[common]) common++;
      if (common < held.length) sequence.truncate(common);
      const fresh = tokens.slice(common);
      // [Pi] sits at position tokens.length - 1 + i and must fit the context.
      const prompts = Math.max(
        0,
        Math.min(promptTokens, depth - 1, model.info.contextLength - tokens.length),
      );
      const rows = fresh.length + prompts;
      const embeddings = new Float32Array(rows * hiddenSize);
      fresh.forEach((token, row) =>
        embeddings.set(
          tokenTable.subarray(token * hiddenSize, (token + 1) * hiddenSize),
          row * hiddenSize,
        ),
      );
      embeddings.set(
        weights.embeddings.subarray(0, prompts * hiddenSize),
        fresh.length * hiddenSize,
      );
      // Prompt rows are never committed; their ids only name the rows (the pending token's id).
      const ids = Int32Array.from({ length: rows }, (_, row) =>
        row < fresh.length ? fresh[row] : fresh[fresh.length - 1],
      );
      const { logits } = await sequence.forward(
        { tokens: ids, embeddings },
        { signal: context.signal },
      );
      sequence.commit(Array.from(fresh, (_, row) => row));
      const candidates = Array.from({ length: prompts + 1 }, (_, level) => {
        const row = fresh.length - 1 + level;
        return topIndices(
          logits.subarray(row * vocabSize, (row + 1) * vocabSize),
          candidatesPerDepth[level],
        );
      });
      const kept = paths.flatMap((path, index) => (path.length <= prompts + 1 ? [index] : []));
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

function checkTarget(model: CausalLM, weights: PpdWeights, table: Float32Array): void {
  if (
    model.info.vocabSize !== weights.vocabSize ||
    table.length !== weights.vocabSize * weights.hiddenSize
  ) {
    throw new InvalidArgumentError({
      argument: 'weights',
      message: `were trained for ${weights.model} (vocab ${weights.vocabSize}, hidden ${weights.hiddenSize}); the target ${model.info.name} has vocab ${model.info.vocabSize} and an embedding table of ${table.length} floats. Train prompt tokens for this model with \`decodekit train ppd --model ...\`.`,
    });
  }
}

/** The row of a path's parent (paths are listed parents first). */
function parentRow(rowOf: ReadonlyMap<string, number>, path: readonly number[]): number {
  const row = rowOf.get(path.slice(0, -1).join(','));
  invariant(row !== undefined, `the tree lists path ${path.join(',')} before its parent`);
  return row;
}
