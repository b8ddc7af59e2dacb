import { InvalidArgumentError } from '@decodekit/core';
import type { DraftContext, DraftTree, Drafter } from '@decodekit/core';
import { NgramIndex } from './ngram-index.js';

/** Options of `promptLookup()`. */
export interface PromptLookupOptions {
  /** Longest n-gram matched against the context (tried first). Default 3. */
  maxNgramSize?: number;
  /** Shortest n-gram tried before giving up on a step. Default 1. */
  minNgramSize?: number;
  /** Most tokens drafted after a match (`num_pred_tokens` / `prompt_lookup_num_tokens`). Default 10. */
  numSpeculativeTokens?: number;
  /**
   * Which earlier occurrence to copy from. `'latest'` (default, as the decodekit spec and vLLM's n-gram
   * proposer favour recent text) or `'earliest'` (Hugging Face's `PromptLookupCandidateGenerator` and
   * the original prompt-lookup-decoding code take the first match in the context).
   */
  prefer?: 'latest' | 'earliest';
  /**
   * Most matches merged into one draft tree when the backend verifies trees. Default 1: a single chain,
   * exactly the published method. With more, the next-best matches (same n-gram size first, then shorter
   * ones) add branches where their continuations differ; shared prefixes are merged.
   */
  branches?: number;
}

/** A prompt-lookup drafter; `lookups` counts steps that found a match (for diagnostics). */
export interface PromptLookupDrafter extends Drafter {
  readonly name: 'prompt-lookup';
  /** Steps proposed so far and how many of them found a match. */
  readonly lookups: { readonly steps: number; readonly matched: number };
}

/** Largest `maxNgramSize` accepted: every size up to it is indexed at every token. */
const MAX_NGRAM_SIZE = 256;

function positiveInteger(value: number, argument: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError({
      argument,
      message: `must be a positive integer, got ${value}.`,
    });
  }
}

/**
 * Prompt Lookup Decoding (Saxena, 2023, https://github.com/apoorvumang/prompt-lookup-decoding): drafts
 * by copying. For n from `maxNgramSize` down to `minNgramSize` it looks for an earlier occurrence of the
 * last n tokens in the whole context (prompt and output) and proposes the up to `numSpeculativeTokens`
 * tokens that followed it as a chain. No match: no draft (a plain step). Train-free and lossless; works
 * best on input-grounded tasks (summarisation, code editing, extraction) and on repetitive output.
 *
 * The n-gram index is incremental (hash chains updated as tokens arrive), so a step costs
 * O(new tokens × maxNgramSize) plus the lookup, not a rescan of a context of thousands of tokens.
 *
 * @example
 * const decoder = createDecoder({ model }).use(speculative({ drafter: promptLookup() }));
 */
export function promptLookup(options: PromptLookupOptions = {}): PromptLookupDrafter {
  const {
    maxNgramSize = 3,
    minNgramSize = 1,
    numSpeculativeTokens = 10,
    prefer = 'latest',
    branches = 1,
  } = options;
  positiveInteger(maxNgramSize, 'maxNgramSize');
  positiveInteger(minNgramSize, 'minNgramSize');
  positiveInteger(numSpeculativeTokens, 'numSpeculativeTokens');
  positiveInteger(branches, 'branches');
  // The index keeps one hash chain per n-gram size and updates every one of them per token.
  if (maxNgramSize > MAX_NGRAM_SIZE) {
    throw new InvalidArgumentError({
      argument: 'maxNgramSize',
      message: `must be at most ${MAX_NGRAM_SIZE} (each size is indexed at every token; 2-5 is typical), got ${maxNgramSize}.`,
    });
  }
  if (minNgramSize > maxNgramSize) {
    throw new InvalidArgumentError({
      argument: 'minNgramSize',
      message: `must be ≤ maxNgramSize (${maxNgramSize}), got ${minNgramSize}.`,
    });
  }
  if (prefer !== 'latest' && prefer !== 'earliest') {
    throw new InvalidArgumentError({
      argument: 'prefer',
      message: `must be 'latest' or 'earliest', got ${String(prefer)}.`,
    });
  }

  const index = new NgramIndex(minNgramSize, maxNgramSize);
  const lookups = { steps: 0, matched: 0 };
  // Scratch space for one continuation; drafts are copied out because the engine keeps the tree.
  const scratch = new Int32Array(numSpeculativeTokens);

  function chainDraft(length: number): DraftTree | undefined {
    for (let n = Math.min(maxNgramSize, index.length - 1); n >= minNgramSize; n--) {
      const position = index.find(n, prefer);
      if (position < 0) continue;
      const count = index.continuation(position, length, scratch);
      const tokens = scratch.slice(0, count);
      const parents = new Int32Array(count);
      for (let i = 0; i < count; i++) parents[i] = i - 1;
      return { tokens, parents };
    }
    return undefined;
  }

  function treeDraft(length: number, maxNodes: number): DraftTree | undefined {
    const tokens: number[] = [];
    const parents: number[] = [];
    let found = 0;
    // One set across sizes: a 3-gram match at p is also a 2-gram match at p, and would add nothing.
    const seen = new Set<number>();
    for (
      let n = Math.min(maxNgramSize, index.length - 1);
      n >= minNgramSize && found < branches;
      n--
    ) {
      while (found < branches && tokens.length < maxNodes) {
        const position = index.find(n, prefer, seen);
        if (position < 0) break;
        seen.add(position);
        found++;
        const count = index.continuation(position, length, scratch);
        // Insert the chain into the trie: follow existing rows while tokens agree, then branch off.
        let parent = -1;
        for (let i = 0; i < count && tokens.length < maxNodes; i++) {
          let row = -1;
          for (let r = parent + 1; r < tokens.length; r++) {
            if (parents[r] === parent && tokens[r] === scratch[i]) {
              row = r;
              break;
            }
          }
          if (row < 0) {
            row = tokens.length;
            tokens.push(scratch[i]);
            parents.push(parent);
          }
          parent = row;
        }
      }
    }
    if (tokens.length === 0) return undefined;
    return { tokens: Int32Array.from(tokens), parents: Int32Array.from(parents) };
  }

  return {
    name: 'prompt-lookup',
    lookups,
    begin({ tokens }) {
      index.clear();
      index.sync(tokens);
    },
    propose(context: DraftContext) {
      lookups.steps++;
      index.sync(context.tokens);
      const length = Math.min(numSpeculativeTokens, context.maxNodes, context.remaining);
      if (length < 1) return undefined;
      const draft =
        branches > 1 && context.treeCapable
          ? treeDraft(length, context.maxNodes)
          : chainDraft(length);
      if (draft) lookups.matched++;
      return draft;
    },
  };
}
