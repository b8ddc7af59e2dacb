import { ContextLengthError, VocabMismatchError } from '../errors.js';
import type { CausalLM, Tokenizer } from '../types.js';

/** A model as the compatibility check reads it: its info, and its tokenizer and generation config when loaded. */
export type CompatibilityCheckedModel = Pick<CausalLM, 'info'> & {
  readonly tokenizer?: Tokenizer;
  readonly generationConfig?: Readonly<Record<string, unknown>>;
};

/** Options of `checkDraftCompatibility`. */
export interface DraftCompatibilityOptions {
  /**
   * Positions the generations need (prompt + new tokens). A draft whose context is shorter is an error then;
   * without it a shorter draft context is only a warning (the draft-model drafter stops drafting where its
   * context ends, and decoding goes on at the target's plain speed).
   */
  readonly requiredContext?: number;
  /** What the user can do instead, appended to every error (default: pick a draft of the target's family). */
  readonly hint?: string;
  /**
   * `'error'` (the default): different special tokens (BOS, EOS, PAD) throw. `'warn'`: they become warnings —
   * decoding stays exact (the target decides where a generation ends) but drafts lose acceptance around them.
   * Token ids that differ always throw.
   */
  readonly specialTokens?: 'error' | 'warn';
  /**
   * Default true. false skips the context comparison, for callers that warn when a generation actually runs
   * past the draft's context (the draft-model drafter does).
   */
  readonly checkContext?: boolean;
}

/** What `checkDraftCompatibility` found when the pair is usable. */
export interface DraftCompatibilityReport {
  /** Token ids compared through both tokenizers (0 when one model has no tokenizer: only sizes compared). */
  readonly comparedTokens: number;
  /** Usable but slower than it could be (a shorter draft context; special tokens under `'warn'`), one sentence each. */
  readonly warnings: readonly string[];
}

const DEFAULT_HINT =
  'Train or pick a draft with the target’s tokenizer (decodekit train fastdraft), or draft without a second model (promptLookup(), tokenRecycling()).';

function padOf(model: CompatibilityCheckedModel): number | undefined {
  const pad = model.generationConfig?.pad_token_id;
  return typeof pad === 'number' ? pad : undefined;
}

function describeIds(ids: readonly number[]): string {
  return ids.length === 0 ? 'none' : `[${[...ids].sort((a, b) => a - b).join(', ')}]`;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  const left = [...new Set(a)].sort((x, y) => x - y);
  const right = [...new Set(b)].sort((x, y) => x - y);
  return left.length === right.length && left.every((id, i) => id === right[i]);
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Checks that `draft` can draft for `target` in draft/target speculative decoding (FastDraft's compatibility
 * requirement, Zafrir et al. 2024): the same vocabulary size, the same token for every id (compared through both
 * tokenizers, piece and bytes, when both models have one), the same special tokens (BOS, the EOS set, and PAD when
 * both generation configs name one), and enough context.
 * @param target the model that verifies
 * @param draft the model that drafts
 * @param options `requiredContext` (positions the run needs) and the hint errors end with
 * @returns the number of token ids compared and any warnings (a draft context shorter than the target's)
 * @throws VocabMismatchError naming the first difference and what to do; ContextLengthError when the draft's
 *   context is shorter than `requiredContext`
 */
export function checkDraftCompatibility(
  target: CompatibilityCheckedModel,
  draft: CompatibilityCheckedModel,
  options: DraftCompatibilityOptions = {},
): DraftCompatibilityReport {
  const hint = options.hint ?? DEFAULT_HINT;
  const names = `the draft model "${draft.info.name}" and the target "${target.info.name}"`;
  const fail = (what: string): never => {
    throw new VocabMismatchError({
      message: `A draft model must use the target's tokenizer, but ${names} differ: ${what}. ${hint}`,
    });
  };
  const warnings: string[] = [];
  const special = (what: string) => {
    if (options.specialTokens === 'warn')
      warnings.push(
        `${names} differ in special tokens: ${what}. Decoding stays exact, but drafts lose acceptance around them.`,
      );
    else fail(what);
  };
  if (draft.info.vocabSize !== target.info.vocabSize) {
    fail(
      `the draft has a vocabulary of ${draft.info.vocabSize} tokens but the target has ${target.info.vocabSize}`,
    );
  }
  if (draft.info.bosTokenId !== target.info.bosTokenId) {
    special(
      `BOS is ${draft.info.bosTokenId ?? 'none'} in the draft, ${target.info.bosTokenId ?? 'none'} in the target`,
    );
  }
  if (!sameIds(draft.info.eosTokenIds, target.info.eosTokenIds)) {
    special(
      `the end-of-sequence ids are ${describeIds(draft.info.eosTokenIds)} in the draft, ${describeIds(target.info.eosTokenIds)} in the target`,
    );
  }
  const [draftPad, targetPad] = [padOf(draft), padOf(target)];
  if (draftPad !== undefined && targetPad !== undefined && draftPad !== targetPad) {
    special(`PAD is ${draftPad} in the draft, ${targetPad} in the target`);
  }
  let comparedTokens = 0;
  if (draft.tokenizer && target.tokenizer) {
    if (draft.tokenizer.vocabSize !== target.tokenizer.vocabSize) {
      fail(
        `the draft's tokenizer has ${draft.tokenizer.vocabSize} tokens, the target's ${target.tokenizer.vocabSize}`,
      );
    }
    for (let id = 0; id < target.tokenizer.vocabSize; id++) {
      const [mine, theirs] = [draft.tokenizer.idToToken(id), target.tokenizer.idToToken(id)];
      if (
        mine !== theirs ||
        !sameBytes(draft.tokenizer.tokenBytes(id), target.tokenizer.tokenBytes(id))
      ) {
        fail(
          `token id ${id} is ${JSON.stringify(mine)} in the draft but ${JSON.stringify(theirs)} in the target`,
        );
      }
      comparedTokens++;
    }
  }
  if (options.checkContext !== false && draft.info.contextLength < target.info.contextLength) {
    if (
      options.requiredContext !== undefined &&
      options.requiredContext > draft.info.contextLength
    ) {
      throw new ContextLengthError({
        length: options.requiredContext,
        contextLength: draft.info.contextLength,
        what: `Drafting with "${draft.info.name}" (its context is shorter than the target's ${target.info.contextLength})`,
      });
    }
    warnings.push(
      `The draft model "${draft.info.name}" has a context of ${draft.info.contextLength} positions, the target ` +
        `${target.info.contextLength}: past ${draft.info.contextLength} positions it drafts nothing and decoding ` +
        'runs at the target’s plain speed. Use a draft with the target’s context length for long generations.',
    );
  }
  return { comparedTokens, warnings };
}
