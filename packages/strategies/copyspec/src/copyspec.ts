import { InvalidArgumentError } from '@decodekit/core';
import type {
  DraftExtendContext,
  DraftBeginContext,
  DraftContext,
  DraftTree,
  Drafter,
  VerifyResult,
} from '@decodekit/core';
import { CopyIndex } from './copy-index.js';

/** Options of `copyspec()`. */
export interface CopySpecOptions {
  /** Tokens matched against the history (`--gamma`; the paper's CNN/DM and HumanEval runs use 3). Default 3. */
  gamma?: number;
  /** Most tokens copied after a match (`number_copy`). Default 10. */
  numberCopy?: number;
  /**
   * Which earlier occurrence to copy from: `'earliest'` (default, the official code's `copy_dict[hash][0]`)
   * or `'latest'` (the most recent one, which follows a looping output more closely).
   */
  prefer?: 'earliest' | 'latest';
  /**
   * Drafter used on steps without a match (the paper falls back to a draft model; any decodekit drafter
   * works, e.g. `tokenRecycling()`). It sees every generation (`begin`/`end`) and every verification
   * (`observe`), copied steps included, so a learning fallback stays warm. Default: none (a plain step).
   */
  fallback?: Drafter;
  /**
   * What counts as history. `'generation'` (default): the prompt and the output of the current
   * generation. `'session'`: also every earlier generation of this drafter (prompts and outputs), so a
   * later turn copies from earlier answers even when the prompt does not repeat them; a prompt that
   * extends the previous conversation continues it instead of duplicating it.
   */
  history?: 'generation' | 'session';
}

/** Counters of a copyspec drafter. */
export interface CopySpecStats {
  /** Draft requests. */
  steps: number;
  /** Steps that drafted a copy. */
  copied: number;
  /** Steps handed to the fallback drafter. */
  fallback: number;
}

/** A CopySpec drafter with its history exposed. */
export interface CopySpecDrafter extends Drafter {
  readonly stats: CopySpecStats;
  /** Tokens held in the history (every segment). */
  historyLength(): number;
  /**
   * Adds a document to the session history (e.g. a file the user is editing), searchable by later
   * generations. Only meaningful with `history: 'session'` (a `'generation'` drafter forgets it at the
   * next `begin`).
   */
  remember(tokens: readonly number[]): void;
  /** Forgets the whole history. */
  reset(): void;
}

function positiveInteger(value: number, argument: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError({
      argument,
      message: `must be a positive integer, got ${value}.`,
    });
  }
}

/**
 * CopySpec (Dumitru et al., 2025, "CopySpec: Accelerating LLMs with Speculative Copy-and-Paste Without
 * Compromising Quality", https://arxiv.org/abs/2502.08923; official code RazvanDu/CopySpec). Every γ-gram
 * of the history is indexed by a rolling hash; when the last γ tokens occurred before, the up to
 * `numberCopy` tokens that followed that occurrence are drafted as a chain. Steps without a match go to
 * the `fallback` drafter. Lossless under `speculative()`: greedy match at T = 0, and at T > 0 copies are
 * deterministic drafts accepted with the target's probability (the official code accepts a copied token
 * only when the processed target probability is 1, which is exact only for greedy).
 *
 * @example
 * const decoder = createDecoder({ model }).use(
 *   speculative({ drafter: copyspec({ fallback: tokenRecycling() }) }),
 * );
 */
export function copyspec(options: CopySpecOptions = {}): CopySpecDrafter {
  const {
    gamma = 3,
    numberCopy = 10,
    prefer = 'earliest',
    fallback,
    history = 'generation',
  } = options;
  positiveInteger(gamma, 'gamma');
  positiveInteger(numberCopy, 'numberCopy');
  if (prefer !== 'earliest' && prefer !== 'latest') {
    throw new InvalidArgumentError({
      argument: 'prefer',
      message: `must be 'earliest' or 'latest', got ${String(prefer)}.`,
    });
  }
  if (history !== 'generation' && history !== 'session') {
    throw new InvalidArgumentError({
      argument: 'history',
      message: `must be 'generation' or 'session', got ${String(history)}.`,
    });
  }
  if (
    fallback !== undefined &&
    (typeof fallback !== 'object' || typeof fallback.propose !== 'function')
  ) {
    throw new InvalidArgumentError({
      argument: 'fallback',
      message: 'must be a drafter with a propose() method.',
    });
  }
  const index = new CopyIndex(gamma);
  const stats: CopySpecStats = { steps: 0, copied: 0, fallback: 0 };
  const copied: number[] = [];

  /** The copy for the current suffix, or undefined. Positions are tried in the preferred order. */
  function findCopy(limit: number): number[] | undefined {
    const candidates = index.candidates();
    const count = candidates.length;
    for (let k = 0; k < count; k++) {
      const start = candidates[prefer === 'earliest' ? k : count - 1 - k];
      if (!index.matchesSuffix(start)) continue; // hash collision
      copied.length = 0;
      if (index.copy(start, limit, copied) > 0) return copied;
    }
    return undefined;
  }

  return {
    name: fallback ? `copyspec+${fallback.name}` : 'copyspec',
    providesProbabilities: fallback?.providesProbabilities,
    requires: fallback?.requires,
    preferredBudget: fallback?.preferredBudget ?? numberCopy,
    stats,
    async begin(context: DraftBeginContext) {
      if (history === 'generation') index.clear();
      else if (!index.segmentIsPrefixOf(context.tokens)) index.closeSegment();
      index.sync(context.tokens);
      await fallback?.begin?.(context);
    },
    propose(context: DraftContext): DraftTree | undefined | Promise<DraftTree | undefined> {
      stats.steps++;
      index.sync(context.tokens);
      const limit = Math.min(numberCopy, context.maxNodes, context.remaining);
      const copy = limit > 0 ? findCopy(limit) : undefined;
      if (copy) {
        stats.copied++;
        const parents = new Int32Array(copy.length);
        for (let i = 0; i < copy.length; i++) parents[i] = i - 1;
        return { tokens: Int32Array.from(copy), parents };
      }
      if (!fallback) return undefined;
      stats.fallback++;
      return fallback.propose(context);
    },
    // A fallback that adds rows to the verification forward (fused PPD) keeps them: its next draft reads them.
    ...(fallback?.extend
      ? { extend: (context: DraftExtendContext) => fallback.extend?.(context) }
      : {}),
    observe(result: VerifyResult) {
      // Keep the history current to the last emitted token, so a session's next turn sees all of it.
      if (index.segmentLength === result.tokens.length)
        for (const token of result.emitted) index.push(token);
      return fallback?.observe?.(result);
    },
    end() {
      return fallback?.end?.();
    },
    historyLength: () => index.length,
    remember(tokens) {
      index.closeSegment();
      for (const token of tokens) index.push(token);
      index.closeSegment();
    },
    reset() {
      index.clear();
    },
  };
}
