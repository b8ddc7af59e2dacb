import type { CausalLM } from '../types.js';

/**
 * One position of a generation that a verification forward scored: the target's logits for
 * `tokens[position]`, read from that forward (no extra target forward).
 */
export interface ScoredPosition {
  /** Index, in the sample's `tokens`, of the token these logits predict (from `tokens.slice(0, position)`). */
  readonly position: number;
  /** The target's raw logits for this position (before logits processors and temperature). [vocab] */
  readonly targetLogits: Float32Array;
}

/**
 * One position of a generation where the target rejected the draft's token and emitted its own
 * (a *recovered* token): what online draft distillation learns from.
 */
export interface RejectedPosition extends ScoredPosition {
  /** Index, in the sample's `tokens`, of the token the target emitted in place of the draft's. */
  readonly position: number;
  /** The draft token the target rejected there. */
  readonly draftToken: number;
  /** The token the target emitted there (`tokens[position]`). */
  readonly targetToken: number;
  /** The target's raw logits for this position (before logits processors and temperature). [vocab] */
  readonly targetLogits: Float32Array;
  /** The target's most likely tokens there, most likely first, with their log-probabilities (log-softmax of `targetLogits`). */
  readonly targetTopK: {
    readonly tokens: readonly number[];
    readonly logprobs: readonly number[];
  };
}

/** A finished generation as an online draft trainer sees it (telemetry of one request). */
export interface DraftTrainingSample {
  /**
   * Prompt and emitted tokens through the last verification of the generation; `tokens.slice(0, position)`
   * is the context the draft predicted `position` from.
   */
  readonly tokens: readonly number[];
  readonly promptLength: number;
  /** Every position where the draft was rejected, in order. */
  readonly rejected: readonly RejectedPosition[];
  /**
   * The first draft position of every verification step after the first, in order: the position right
   * after the previous step's last emitted token (its recovered or bonus token), with the target's row-0
   * logits of that step's verification forward. These are the positions the official OSD trainer's online
   * step distils on (`wrong_token_ids`: one per step, the logits at each step's last emitted token). The
   * position after the generation's last step is not included (no verification forward scored it).
   * Absent when the drafter does not record it.
   */
  readonly stepStarts?: readonly ScoredPosition[];
  /**
   * Every emitted position a verification forward scored, in order (each step's accepted draft tokens and
   * its recovered or bonus token), with the target's logits there. Absent when the drafter does not record
   * it.
   */
  readonly verified?: readonly ScoredPosition[];
}

/**
 * Updates a draft model's weights from served traffic (Online Speculative Decoding, Liu et al., 2023,
 * https://arxiv.org/abs/2310.07177): given buffered generations it distils the draft at positions the
 * verification forwards scored (`stepStarts`, `rejected` or `verified`) and returns the updated draft as a
 * new `CausalLM` of the same shape, which the drafter hot-swaps in between generations
 * (`DraftSession.swapModel`). The drafter owns each returned model and disposes it once swapped out. Trainers live outside core (e.g. `onlineDistiller` in
 * `@decodekit/train`), so strategies take this interface and never depend on a training library.
 */
export interface DraftUpdater {
  readonly name: string;
  /**
   * Distils the draft on `samples` and returns the updated draft model.
   * @param samples the buffered generations (each with at least its rejected positions)
   * @param options `signal` aborts the update
   */
  update(
    samples: readonly DraftTrainingSample[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<CausalLM>;
}
