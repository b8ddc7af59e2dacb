import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  invariant,
  topIndices,
  treeDepths,
  type CausalLM,
  type Drafter,
  type DraftTree,
  type Sequence,
} from '@decodekit/core';
import {
  checkPpdTree,
  checkPpdWeights,
  promptTokenCount,
  virtualTokenCount,
  type PpdWeights,
} from './ppd-weights.js';

/** Options of `ppd()`. */
export interface PpdOptions {
  /** Trained prompt tokens (`parsePpdWeights` of a file written by `decodekit train ppd`). */
  weights: PpdWeights;
  /**
   * Sparse tree choices (paths of top-k indices). Fused (default): depth i ranks [Pi]'s logits at the
   * node the last step ended on; default the stored tree without its first level (`fusedPpdTree`).
   * Unfused: depth 1 ranks the target's next-token logits, depth i + 1 ranks [Pi]'s; default the stored tree.
   */
  tree?: readonly (readonly number[])[];
  /**
   * Fuse drafting into verification (default true, the paper's design): the k prompt rows ride in the
   * verification forward after the pending token and after tree nodes (`Drafter.extend`), so one target
   * forward per step verifies this tree and drafts the next. Needs a target with `capabilities.tree` and
   * `inputEmbeddings` (otherwise the unfused path runs). False: a second forward of the target per step.
   */
  fused?: boolean;
  /**
   * Fused: how many tree nodes, best first, carry their own k prompt rows besides the pending token (the
   * forward grows by k rows per carrier, which the engine's cost-curve sizing does not see). A step that ends
   * on a node without them drafts from its nearest carrier's later prompt rows (a shallower tree: the
   * paper's trees keyed by available prompt tokens). Default 0: with the stories260K prompt tokens, the
   * accepted path ends on the pending token in most steps, and carriers below it cost more rows than the
   * depth they add (measured in the README).
   */
  promptNodes?: number;
  /**
   * Unfused only: the model the prompt tokens run through (needs `capabilities.inputEmbeddings` and
   * `embeddingTable()`). Default: the decoder's target. Pass the unwrapped target when the decoder runs a
   * middleware-wrapped one.
   */
  draftModel?: CausalLM;
}

/**
 * The fused tree of stored tree choices: the stored paths rank the target's own next token at depth 1
 * (always rank 0 on the training data's greedy continuation), so the paths below rank 0 without it are the
 * tree over [P1]..[Pk] that the same per-depth accuracies build (Medusa's construction, best first).
 */
export function fusedPpdTree(tree: readonly (readonly number[])[]): number[][] {
  return tree.filter(path => path.length > 1 && path[0] === 0).map(path => path.slice(1));
}

/**
 * Parallel Prompt Decoding (Chen et al., 2024, https://arxiv.org/abs/2405.18628): k prompt tokens
 * [P1]..[Pk] whose input embeddings were trained with the target frozen, so that appended after a token at
 * position t the target's own logits at [Pi] (position t + i) predict the token at t + i + 1.
 *
 * Fused (default, as the paper): the prompt rows are appended to the verification forward after the pending
 * token and after tree nodes (`Drafter.extend`); they are never committed. After verification, the prompt
 * rows of the node the accepted path ends on guess the tokens after the bonus token ([P1] the first, ...),
 * and their top-k fill the next sparse tree: one target forward per step. Unfused (`fused: false`): one extra
 * forward of the target per step on a second KV sequence (the emitted tokens, then the prompt rows), timed as
 * draft time. Both are exact at every temperature: the rows carry no draft distribution.
 */
export function ppd({ weights, tree, fused = true, promptNodes, draftModel }: PpdOptions): Drafter {
  if (!weights)
    throw new InvalidArgumentError({
      argument: 'weights',
      message: 'ppd() needs trained prompt tokens: parsePpdWeights(file contents).',
    });
  checkPpdWeights(weights);
  if (promptNodes !== undefined && (!Number.isInteger(promptNodes) || promptNodes < 0)) {
    throw new InvalidArgumentError({
      argument: 'promptNodes',
      message: `must be a non-negative integer (tree nodes that carry prompt rows), got ${promptNodes}.`,
    });
  }
  if (fused && draftModel) {
    throw new InvalidArgumentError({
      argument: 'draftModel',
      message:
        'applies to ppd({ fused: false }) only: fused prompt rows run in the verification forward of the decoder target.',
    });
  }
  const promptTokens = promptTokenCount(weights);
  const paths = (tree ?? (fused ? fusedPpdTree(weights.tree) : weights.tree)).map(path => [
    ...path,
  ]);
  if (fused && paths.length === 0) {
    throw new InvalidArgumentError({
      argument: 'tree',
      message:
        "the stored tree has no path below the target's own depth, so a fused step has nothing to draft: train with `--tree-size 2` or more, pass a tree, or use ppd({ fused: false }).",
    });
  }
  checkPpdTree(paths, fused ? promptTokens : promptTokens + 1, weights.vocabSize);
  const shape = treeShape(paths);
  const unfused = fused ? undefined : unfusedDrafter(weights, shape, draftModel);
  if (unfused) return unfused;

  const { vocabSize, hiddenSize } = weights;
  const virtualTokens = virtualTokenCount(weights);
  const averaged = new Float32Array(vocabSize);
  const carriersMax = promptNodes ?? 0;
  // What the last verification forward prepared: the context it continues and its prompt rows' candidates.
  let next: { tokens: readonly number[]; candidates: number[][] } | undefined;
  // This step's carriers: forward row (0 = pending, i + 1 = tree row i) -> its extra rows per prompt token
  // ([Pi]'s virtual tokens at index i - 1).
  let carriers = new Map<number, number[][]>();
  let fallback: Drafter | undefined;

  return {
    name: 'ppd',
    preferredBudget: paths.length,
    requires: ['inputEmbeddings'],
    begin(context) {
      next = undefined;
      const model = context.model;
      if (!model.capabilities.tree) {
        // Extra rows branch off tree nodes; a chain-only target drafts with a second forward instead.
        fallback = unfusedDrafter(weights, treeShape(weights.tree.map(path => [...path])));
        context.warn?.(
          'ppd-unfused',
          'ppd: the target verifies chains only, so the prompt rows run in a second forward per step (unfused).',
        );
        return fallback.begin?.(context);
      }
      fallback = undefined;
      const table = model.capabilities.inputEmbeddings ? model.embeddingTable?.() : undefined;
      if (!table) throw missingEmbeddings(model);
      checkTarget(model, weights, table);
    },
    propose(context) {
      if (fallback) return fallback.propose(context);
      const prepared = next;
      next = undefined;
      if (!prepared || !sameTokens(prepared.tokens, context.tokens)) return undefined;
      const levels = prepared.candidates.length;
      const kept = paths.flatMap((path, index) => (path.length <= levels ? [index] : []));
      if (kept.length === 0) return undefined;
      const keptRow = new Map(kept.map((index, row) => [index, row]));
      return {
        tokens: Int32Array.from(kept, index => {
          const path = paths[index];
          return prepared.candidates[path.length - 1][path[path.length - 1]];
        }),
        parents: Int32Array.from(kept, index =>
          shape.parents[index] < 0 ? -1 : (keptRow.get(shape.parents[index]) ?? -1),
        ),
      } satisfies DraftTree;
    },
    extend(context) {
      if (fallback) return undefined;
      const { tree, maxRows, maxDepth, tokens } = context;
      const depths = treeDepths(tree.parents);
      carriers = new Map();
      const ids: number[] = [];
      const parents: number[] = [];
      const base = tree.tokens.length + 1;
      // The pending token first, then tree nodes in the drafter's order (most likely reached first).
      for (let row = 0; row <= tree.tokens.length && row <= carriersMax; row++) {
        const depth = row === 0 ? 0 : depths[row - 1];
        const count = Math.min(
          promptTokens,
          maxDepth - depth,
          Math.floor((maxRows - ids.length) / virtualTokens),
        );
        if (count <= 0) continue;
        const levels: number[][] = [];
        const name = row === 0 ? tokens[tokens.length - 1] : tree.tokens[row - 1];
        for (let i = 0; i < count; i++) {
          const level: number[] = [];
          for (let j = 0; j < virtualTokens; j++) {
            // Virtual token j of [P(i+1)] continues chain j: after the carrier, then after its [Pi].
            level.push(ids.length);
            parents.push(i === 0 ? row : base + levels[i - 1][j]);
            ids.push(name);
          }
          levels.push(level);
        }
        carriers.set(row, levels);
      }
      if (ids.length === 0) return undefined;
      const embeddings = new Float32Array(ids.length * hiddenSize);
      for (const levels of carriers.values())
        embeddings.set(
          weights.embeddings.subarray(0, levels.length * virtualTokens * hiddenSize),
          levels[0][0] * hiddenSize,
        );
      return { tokens: Int32Array.from(ids), parents: Int32Array.from(parents), embeddings };
    },
    observe(result) {
      if (fallback) return fallback.observe?.(result);
      const { tree, acceptedRows, extraLogits, emitted } = result;
      if (!extraLogits) return;
      // The nearest node on the accepted path (deepest first) that carried prompt rows: its [P(d+1)].. guess
      // the tokens after the bonus token, d being how far the path went past it.
      let row = acceptedRows.length > 0 ? acceptedRows[acceptedRows.length - 1] + 1 : 0;
      let distance = 0;
      while (!carriers.has(row)) {
        row = row === 0 ? -1 : tree.parents[row - 1] + 1;
        if (row < 0) return;
        distance++;
      }
      const levels = carriers.get(row) ?? [];
      const candidates = levels
        .slice(distance)
        .map((level, depth) =>
          topIndices(
            ensembleLogits(extraLogits, level, vocabSize, averaged),
            shape.candidatesPerDepth[depth] ?? 0,
          ),
        );
      next = { tokens: [...result.tokens, ...emitted], candidates };
    },
    end() {
      next = undefined;
      carriers = new Map();
      return fallback?.end?.();
    },
  };
}

interface TreeShape {
  readonly paths: readonly (readonly number[])[];
  /** Parent path index of each path (-1 for depth 1). */
  readonly parents: Int32Array;
  readonly depth: number;
  /** Top-k needed at each depth. */
  readonly candidatesPerDepth: readonly number[];
}

function treeShape(paths: readonly (readonly number[])[]): TreeShape {
  const rowOf = new Map(paths.map((path, row) => [path.join(','), row]));
  const depth = Math.max(0, ...paths.map(path => path.length));
  return {
    paths,
    parents: Int32Array.from(paths, path => (path.length === 1 ? -1 : parentRow(rowOf, path))),
    depth,
    candidatesPerDepth: Array.from({ length: depth }, (_, level) =>
      Math.max(0, ...paths.filter(path => path.length > level).map(path => path[level] + 1)),
    ),
  };
}

/** True when `tokens` is exactly the context the prepared draft continues. */
function sameTokens(expected: readonly number[], tokens: readonly number[]): boolean {
  if (expected.length !== tokens.length) return false;
  for (let i = tokens.length - 1; i >= 0; i--) if (expected[i] !== tokens[i]) return false;
  return true;
}

function missingEmbeddings(model: CausalLM): UnsupportedCapabilityError {
  return new UnsupportedCapabilityError({
    capability: 'inputEmbeddings',
    backendId: model.capabilities.backendId,
    hint: 'PPD appends trained prompt embeddings: load a model converted by decodekit (its graph takes inputs_embeds) or pass ppd({ fused: false, draftModel }).',
  });
}

/**
 * The unfused drafter: one forward of the target per step on a second KV sequence of the same model, the
 * tokens emitted since the last draft (their rows from `embeddingTable()`), then the k prompt embeddings.
 * The pending row's logits give depth 1 of the tree (the target's own next-token guess), [Pi]'s depth i + 1.
 */
function unfusedDrafter(weights: PpdWeights, shape: TreeShape, draftModel?: CausalLM): Drafter {
  const promptTokens = promptTokenCount(weights);
  const virtualTokens = virtualTokenCount(weights);
  const { vocabSize, hiddenSize } = weights;
  const { paths, parents, depth, candidatesPerDepth } = shape;
  const averaged = new Float32Array(vocabSize);
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
      if (!table) throw missingEmbeddings(model);
      checkTarget(model, weights, table);
      if (virtualTokens > 1 && !model.capabilities.tree) {
        throw new UnsupportedCapabilityError({
          capability: 'tree',
          backendId: model.capabilities.backendId,
          hint: `these prompt tokens have ${virtualTokens} virtual tokens each (ensemble prompt tokens), whose rows attend in ${virtualTokens} separate chains: run PPD on a target with tree attention, or train prompt tokens with --virtual-tokens 1.`,
        });
      }
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
      const promptRows = prompts * virtualTokens;
      const rows = fresh.length + promptRows;
      const embeddings = new Float32Array(rows * hiddenSize);
      fresh.forEach((token, row) =>
        embeddings.set(
          tokenTable.subarray(token * hiddenSize, (token + 1) * hiddenSize),
          row * hiddenSize,
        ),
      );
      embeddings.set(
        weights.embeddings.subarray(0, promptRows * hiddenSize),
        fresh.length * hiddenSize,
      );
      // Prompt rows are never committed; their ids only name the rows (the pending token's id).
      const ids = Int32Array.from({ length: rows }, (_, row) =>
        row < fresh.length ? fresh[row] : fresh[fresh.length - 1],
      );
      // Ensemble prompt tokens: virtual token j of [P(i+1)] follows virtual token j of [Pi] (row - m), and
      // those of [P1] follow the last emitted token; one virtual token per prompt token is a plain chain.
      const forwardParents =
        virtualTokens === 1
          ? undefined
          : Int32Array.from({ length: rows }, (_, row) =>
              row < fresh.length
                ? row - 1
                : row - fresh.length < virtualTokens
                  ? fresh.length - 1
                  : row - virtualTokens,
            );
      const { logits } = await sequence.forward(
        { tokens: ids, embeddings, ...(forwardParents ? { parents: forwardParents } : {}) },
        { signal: context.signal },
      );
      sequence.commit(Array.from(fresh, (_, row) => row));
      const candidates = Array.from({ length: prompts + 1 }, (_, level) => {
        const rowsOfLevel =
          level === 0
            ? [fresh.length - 1]
            : Array.from(
                { length: virtualTokens },
                (_, j) => fresh.length + (level - 1) * virtualTokens + j,
              );
        return topIndices(
          ensembleLogits(logits, rowsOfLevel, vocabSize, averaged),
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

/**
 * A prompt token's logits: the mean of its virtual tokens' rows (the paper's mean aggregation), written into
 * `out`; one virtual token's row is returned as is.
 */
function ensembleLogits(
  logits: Float32Array,
  rows: readonly number[],
  vocabSize: number,
  out: Float32Array,
): Float32Array {
  if (rows.length === 1) return logits.subarray(rows[0] * vocabSize, (rows[0] + 1) * vocabSize);
  out.fill(0);
  for (const row of rows) {
    const offset = row * vocabSize;
    for (let v = 0; v < vocabSize; v++) out[v] += logits[offset + v];
  }
  for (let v = 0; v < vocabSize; v++) out[v] /= rows.length;
  return out;
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
