import { InvalidArgumentError, softmax } from '@decodekit/core';
import type { Strategy, StrategyContext } from '@decodekit/core';

/** Options of `lud()`. */
export interface LudOptions {
  /**
   * Placeholder positions appended after the last real token (the most extra tokens one step can accept).
   * Default 3.
   */
  placeholders?: number;
  /**
   * Confidence a placeholder's prediction needs (its processed top-1 probability) to be accepted; extra
   * tokens are accepted left to right until the first one below it. Above 1 nothing extra is ever accepted
   * and the output equals autoregressive decoding exactly. Default 0.9.
   */
  threshold?: number;
  /**
   * Token id fed at placeholder positions: the mask/pad token the LUD checkpoint was fine-tuned with.
   * Default 0 (`<unk>` in Llama-2 vocabularies).
   */
  placeholderTokenId?: number;
  /** Stop accepting when a placeholder predicts the token just accepted (a repetition guard). Default true. */
  repetitionGuard?: boolean;
}

/** A LUD strategy with its counters exposed. */
export interface LudStrategy extends Strategy {
  /** Steps taken and tokens accepted from placeholder positions, over this strategy's lifetime. */
  readonly counters: { steps: number; extraTokens: number };
}

/**
 * Lexical Unit Decoding as an inference algorithm (Sun et al., 2024, "Decoding at the Speed of Thought:
 * Harnessing Parallel Decoding of Lexical Units for LLMs", LREC-COLING 2024,
 * https://arxiv.org/abs/2405.15208). Each step forwards the tokens not yet in the KV cache followed by
 * `placeholders` placeholder positions. The last real token's row gives the next token exactly as plain
 * decoding would (sampled with the decoder's sampler and random stream); each placeholder row proposes the
 * token after it, accepted while its processed top-1 probability reaches `threshold` (and, with the
 * repetition guard, while it does not repeat the token before it). Accepted tokens' KV was computed from
 * placeholders, so they are re-fed (and cached) at the start of the next step.
 *
 * NOTE: the speedup of the paper comes from a model fine-tuned to fill placeholders with the rest of a
 * lexical unit. On a model without that fine-tuning the placeholder rows are noise: with `threshold > 1`
 * the output equals autoregressive decoding (slower, as every step forwards extra rows); with a lower
 * threshold the output can differ from it. Lossy unless `threshold > 1`.
 *
 * @example
 * const decoder = createDecoder({ model: ludFineTunedModel }).use(lud({ placeholders: 3, threshold: 0.9 }));
 */
export function lud(options: LudOptions = {}): LudStrategy {
  const {
    placeholders = 3,
    threshold = 0.9,
    placeholderTokenId = 0,
    repetitionGuard = true,
  } = options;
  if (!Number.isInteger(placeholders) || placeholders < 1) {
    throw new InvalidArgumentError({
      argument: 'placeholders',
      message: `must be a positive integer, got ${placeholders}.`,
    });
  }
  if (!(threshold > 0) || !Number.isFinite(threshold)) {
    throw new InvalidArgumentError({
      argument: 'threshold',
      message: `must be a positive number, got ${threshold}.`,
    });
  }
  if (!Number.isInteger(placeholderTokenId) || placeholderTokenId < 0) {
    throw new InvalidArgumentError({
      argument: 'placeholderTokenId',
      message: `must be a token id, got ${placeholderTokenId}.`,
    });
  }
  const counters = { steps: 0, extraTokens: 0 };

  async function run(context: StrategyContext): Promise<void> {
    const { model, sequence, processor, sampler, random } = context;
    const vocabSize = model.info.vocabSize;
    if (placeholderTokenId >= vocabSize) {
      throw new InvalidArgumentError({
        argument: 'placeholderTokenId',
        message: `${placeholderTokenId} is outside the vocabulary (${vocabSize}).`,
      });
    }
    // Emitted tokens whose KV is not cached yet; the pending token is always the last one.
    let unfed = [context.tokens[context.tokens.length - 1]];
    for (;;) {
      // Placeholders beyond the tokens left or the context are wasted.
      const room = Math.min(
        placeholders,
        context.remaining() - 1,
        model.info.contextLength - context.tokens.length - 1,
      );
      const extra = Math.max(0, room);
      const input = new Int32Array(unfed.length + extra);
      input.set(unfed);
      input.fill(placeholderTokenId, unfed.length);
      const { logits } = await context.forward({ tokens: input });
      sequence.commit(Array.from(unfed, (_, index) => index));
      counters.steps++;
      const last = unfed.length - 1;
      const row = logits.slice(last * vocabSize, (last + 1) * vocabSize);
      processor.process(row, context.processorState);
      const next = sampler.sample(row, random);
      const accepted = [next];
      let state = processor.advance(context.processorState, next);
      for (let i = 1; i <= extra; i++) {
        const placeholderRow = logits.slice((last + i) * vocabSize, (last + i + 1) * vocabSize);
        processor.process(placeholderRow, state);
        const probabilities = softmax(placeholderRow);
        let best = 0;
        for (let token = 1; token < vocabSize; token++)
          if (probabilities[token] > probabilities[best]) best = token;
        if (probabilities[best] < threshold) break;
        if (repetitionGuard && best === accepted[accepted.length - 1]) break;
        accepted.push(best);
        state = processor.advance(state, best);
      }
      counters.extraTokens += accepted.length - 1;
      for (let index = 0; index < accepted.length; index++) {
        if (!context.emit(accepted[index], index === 0 ? 'target' : 'draft')) return;
      }
      unfed = accepted;
    }
  }

  return {
    kind: 'strategy',
    name: `lud(${placeholders}, ${threshold})`,
    lossless: threshold > 1,
    run,
    counters,
  };
}
