import { InvalidArgumentError } from '@decodekit/core';
import type {
  DraftBeginContext,
  DraftContext,
  DraftTree,
  Drafter,
  RandomSource,
  VerifyResult,
} from '@decodekit/core';
import { NgramPool } from './ngram-pool.js';

/** Options of `lookahead()`. */
export interface LookaheadOptions {
  /** W (`WINDOW_SIZE`): how many future positions the Jacobi window covers. Default 7 (official README). */
  windowSize?: number;
  /** N (`LEVEL`): n-gram size; the window keeps N - 1 levels of Jacobi history. ≥ 3. Default 5. */
  ngramSize?: number;
  /** G (`GUESS_SET_SIZE`): n-grams kept per key token, all verified when the key is the last token. Default 7. */
  guessSetSize?: number;
  /** Seed the pool with every n-gram of the prompt and of the output (`POOL_FROM_PROMPT`). Default false. */
  poolFromPrompt?: boolean;
  /** Keep the n-gram pool across generations (the official code starts each request empty). Default false. */
  persistPool?: boolean;
}

/** Counters of a lookahead drafter. */
export interface LookaheadStats {
  /** Draft steps. */
  steps: number;
  /** Rows of the lookahead branch (window) forwarded, summed over steps. */
  windowRows: number;
  /** Rows of the verification branch (pool n-grams, after merging shared prefixes), summed. */
  guessRows: number;
}

/** A lookahead drafter with its state exposed. */
export interface LookaheadDrafter extends Drafter {
  readonly stats: LookaheadStats;
  /** The n-gram pool (for inspection and tests). */
  readonly pool: NgramPool;
  /** Draft rows of one full step: (W - 1) + (N - 2)·W window rows + G·(N - 1) guess rows at most. */
  readonly rowsPerStep: number;
}

function integerAtLeast(value: number, minimum: number, argument: string): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new InvalidArgumentError({
      argument,
      message: `must be an integer ≥ ${minimum}, got ${value}.`,
    });
  }
}

/** No row: the slot was not forwarded this step. */
const NONE = -2;
/** The pending token: forward row 0. */
const PENDING = -1;

/**
 * Lookahead decoding (Fu et al., 2024, "Break the Sequential Dependency of LLM Inference Using Lookahead
 * Decoding", https://arxiv.org/abs/2402.02057; official code hao-ai-lab/LookaheadDecoding, lade/).
 *
 * One target forward carries both branches of the paper:
 * - the lookahead branch, a 2-D Jacobi window of N - 1 levels × W columns. Level 0 is a chain continuing
 *   the pending token; the token at level l, column c sees the prefix, level 0 up to column c and its own
 *   column at levels 1..l, at position pending + c + l. That is exactly the official
 *   `j_make_causal_mask_multilevel` pattern, and it is a tree (each token's parent is the token above it
 *   in its column), so the engine's tree forward runs it unchanged;
 * - the verification branch: the pool's n-grams keyed by the pending token, each a chain from the pending
 *   token (merged into a trie where they share prefixes, which changes nothing in the attention).
 * After the forward, the argmax of the last level's rows completes W n-grams (one per column) that enter
 * the pool, and the window slides by one level (the official `ALWAYS_FWD_ONE`).
 *
 * The engine's verifier walks every branch, so it accepts the longest matching path anywhere in the
 * forward (pool n-grams, and also window chains the paper does not verify); output is exact either way.
 *
 * @example
 * const decoder = createDecoder({ model }).use(
 *   speculative({ drafter: lookahead({ windowSize: 4, ngramSize: 3, guessSetSize: 2 }) }),
 * );
 */
export function lookahead(options: LookaheadOptions = {}): LookaheadDrafter {
  const {
    windowSize = 7,
    ngramSize = 5,
    guessSetSize = 7,
    poolFromPrompt = false,
    persistPool = false,
  } = options;
  integerAtLeast(windowSize, 1, 'windowSize');
  integerAtLeast(ngramSize, 3, 'ngramSize');
  integerAtLeast(guessSetSize, 0, 'guessSetSize');
  const W = windowSize;
  const N = ngramSize;
  const rowsPerStep = W - 1 + (N - 2) * W + guessSetSize * (N - 1);
  const pool = new NgramPool(N - 1, guessSetSize);
  const stats: LookaheadStats = { steps: 0, windowRows: 0, guessRows: 0 };

  let random: RandomSource | undefined;
  let promptTokens: readonly number[] = [];
  /** Level 0 without its column 0 (the pending token). */
  let level0: number[] = [];
  /** Levels 1.. filled so far; each has level0.length + 1 columns. */
  let levels: number[][] = [];
  /** Rows of the last proposal: level 0 (column c ≥ 1 at index c) and each filled level. */
  let level0Rows: number[] = [];
  let levelRows: number[][] = [];
  let lastTree: DraftTree | undefined;
  let pooledUpTo = 0;

  const randomPromptToken = (): number =>
    promptTokens[
      Math.min(promptTokens.length - 1, Math.floor((random?.next() ?? 0) * promptTokens.length))
    ];

  function build(context: DraftContext): DraftTree | undefined {
    const pending = context.tokens[context.tokens.length - 1];
    const maxDepth = context.remaining;
    const tokens: number[] = [];
    const parents: number[] = [];
    const trie = new Map<number, number>();
    // Rows are shared when (parent, token) repeats: identical attention, identical logits.
    const insert = (parent: number, token: number, depth: number): number => {
      if (parent === NONE || depth > maxDepth) return NONE;
      const key = (parent + 2) * 1_048_576 + token;
      const existing = trie.get(key);
      if (existing !== undefined) return existing;
      tokens.push(token);
      parents.push(parent);
      trie.set(key, tokens.length - 1);
      return tokens.length - 1;
    };
    // Lookahead branch: level 0 chains off the pending token; level l, column c hangs under (l - 1, c).
    level0Rows = [PENDING];
    for (let c = 1; c <= level0.length; c++)
      level0Rows.push(insert(level0Rows[c - 1], level0[c - 1], c));
    levelRows = [];
    let above = level0Rows;
    for (let l = 0; l < levels.length; l++) {
      const rows = levels[l].map((token, c) => insert(above[c], token, c + l + 1));
      levelRows.push(rows);
      above = rows;
    }
    const windowRows = tokens.length;
    // Verification branch: only once the window is full, as in the official code.
    if (levels.length === N - 2) {
      for (const guess of pool.get(pending)) {
        if (tokens.length >= context.maxNodes) break; // keep the proposal unshaped by the engine
        let parent = PENDING;
        for (
          let i = 0;
          i < guess.length && parent !== NONE && tokens.length < context.maxNodes;
          i++
        ) {
          parent = insert(parent, guess[i], i + 1);
        }
      }
    }
    stats.windowRows += windowRows;
    stats.guessRows += tokens.length - windowRows;
    if (tokens.length === 0) return undefined;
    return { tokens: Int32Array.from(tokens), parents: Int32Array.from(parents) };
  }

  /** Argmax of the raw logits of a draft row (or of the pending row), or undefined when not forwarded. */
  function argmaxOf(result: VerifyResult, row: number): number | undefined {
    if (row === NONE) return undefined;
    const { logits, vocabSize } = result;
    const start = (row + 1) * vocabSize;
    let best = 0;
    let bestValue = -Infinity;
    for (let token = 0; token < vocabSize; token++) {
      const value = logits[start + token];
      if (value > bestValue) {
        bestValue = value;
        best = token;
      }
    }
    return best;
  }

  function update(result: VerifyResult): void {
    const pending = result.tokens[result.tokens.length - 1];
    const last = levels.length === 0 ? level0Rows : levelRows[levels.length - 1];
    const lastLevel = levels.length === 0 ? [pending, ...level0] : levels[levels.length - 1];
    // Next Jacobi guesses: the target's argmax after every token of the last level (kept when not forwarded).
    const next = last.map((row, c) => argmaxOf(result, row) ?? lastLevel[c]);
    if (levels.length === 0) {
      // First step: level 1 = argmax after each level-0 token.
      levels = [next.slice(1)];
      level0 = level0.slice(1);
    } else if (levels.length < N - 2) {
      // Filling the window: every level loses its first column, the new level joins at the bottom.
      level0 = level0.slice(1);
      levels = [...levels.map(level => level.slice(1)), next.slice(1)];
    } else {
      // Full window: column c gives the n-gram (0, c), (1, c), ..., (N - 2, c), next[c].
      for (let c = 0; c < W; c++) {
        const key = c === 0 ? pending : level0[c - 1];
        const continuation = levels.map(level => level[c]);
        continuation.push(next[c]);
        pool.add(key, continuation);
      }
      level0 = levels[0].slice(1);
      levels = [...levels.slice(1), next];
    }
  }

  return {
    name: 'lookahead',
    preferredBudget: rowsPerStep,
    stats,
    pool,
    rowsPerStep,
    begin(context: DraftBeginContext) {
      random = context.random;
      promptTokens = context.tokens.length > 0 ? context.tokens : [0];
      if (!persistPool) pool.clear();
      // The official initialisation: W + N - 3 tokens drawn from the prompt (`copy_from`).
      level0 = Array.from({ length: W + N - 3 }, randomPromptToken);
      levels = [];
      lastTree = undefined;
      pooledUpTo = 0;
    },
    propose(context: DraftContext) {
      stats.steps++;
      lastTree = undefined;
      if (poolFromPrompt) {
        // Every complete n-gram of the context so far (prompt first, then the output as it grows).
        const from = Math.max(0, pooledUpTo - N + 1);
        pool.addAll(context.tokens.slice(from));
        pooledUpTo = context.tokens.length;
      }
      if (promptTokens.length === 0) promptTokens = context.tokens;
      const windowRows = level0.length + levels.length * (level0.length + 1);
      if (context.treeCapable && (context.budget ?? context.maxNodes) < windowRows) {
        throw new InvalidArgumentError({
          argument: 'budget',
          message: `lookahead needs speculative({ budget }) ≥ ${rowsPerStep} (W - 1 + (N - 2)·W + G·(N - 1)) for W = ${W}, N = ${N}, G = ${guessSetSize}; got ${context.budget ?? context.maxNodes}.`,
        });
      }
      // A chain-only backend, or a step whose budget cannot hold the window (the engine's adaptive sizing,
      // or the end of the context), verifies one chain: the first pool n-gram, without the window.
      if (!context.treeCapable || context.maxNodes < windowRows) {
        const guess =
          levels.length === N - 2
            ? pool.get(context.tokens[context.tokens.length - 1])[0]
            : undefined;
        lastTree = undefined;
        if (!guess) return undefined;
        const length = Math.min(guess.length, context.remaining, context.maxNodes);
        if (length < 1) return undefined;
        return {
          tokens: Int32Array.from(guess.slice(0, length)),
          parents: Int32Array.from({ length }, (_, i) => i - 1),
        };
      }
      lastTree = build(context);
      return lastTree;
    },
    observe(result: VerifyResult) {
      if (lastTree === undefined) return;
      if (result.tree !== lastTree) {
        // The engine cut our proposal (budget, depth policy): find where our rows went, or skip a tree
        // that is not ours at all (a composed drafter's).
        const rowMap = mapRows(lastTree, result.tree);
        if (!rowMap) return;
        level0Rows = level0Rows.map(row => (row < 0 ? row : rowMap[row]));
        levelRows = levelRows.map(rows => rows.map(row => (row < 0 ? row : rowMap[row])));
      }
      update(result);
    },
  };
}

/**
 * Where each row of `ours` went in `shaped`, which keeps a subset of our rows in order (dropped rows take
 * their subtrees with them), or undefined when `shaped` is not a subset of `ours`. Rows of a trie have a
 * unique (parent, token), so matching in order is unambiguous.
 */
function mapRows(ours: DraftTree, shaped: DraftTree): Int32Array | undefined {
  const rowMap = new Int32Array(ours.tokens.length).fill(NONE);
  let next = 0;
  for (let row = 0; row < ours.tokens.length && next < shaped.tokens.length; row++) {
    const parent = ours.parents[row];
    const mappedParent = parent < 0 ? -1 : rowMap[parent];
    if (mappedParent === NONE) continue;
    if (shaped.tokens[next] === ours.tokens[row] && shaped.parents[next] === mappedParent)
      rowMap[row] = next++;
  }
  return next === shaped.tokens.length ? rowMap : undefined;
}
