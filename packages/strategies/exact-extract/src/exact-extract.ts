import { InvalidArgumentError, type Strategy, type Tokenizer } from '@decodekit/core';
import {
  resolveSpanOptions,
  scoreSequenceSpans,
  type ScoredSpan,
  type ScoreSpansOptions,
} from './score-spans.js';

/** Options of `exactExtract()`. */
export interface ExactExtractOptions extends Omit<ScoreSpansOptions, 'passage' | 'signal'> {
  /** The passage: token ids, or text (then `tokenizer` is needed; encoded without special tokens). */
  passage: string | readonly number[];
  tokenizer?: Tokenizer;
  /** Called with every scored span (best first) before the answer is emitted. */
  onSpans?: (spans: readonly ScoredSpan[]) => void;
}

/**
 * Exact-extract as a decoding strategy: emits the passage span with the highest model probability
 * (span + terminator), found by scoring every span exactly (no greedy or beam approximation), then the
 * terminator when it is an EOS id. Scores are the model's raw log-probabilities (logits processors and
 * temperature do not apply: the answer is an argmax over spans).
 *
 * @example
 * const decoder = createDecoder({ model }).use(exactExtract({ passage: ' Tom ran home.', tokenizer: model.tokenizer }));
 * const { text } = await decoder.generate('Who ran home? Answer:');
 */
export function exactExtract(options: ExactExtractOptions): Strategy {
  const { tokenizer, onSpans, ...rest } = options;
  let passage: readonly number[];
  if (typeof options.passage === 'string') {
    if (!tokenizer)
      throw new InvalidArgumentError({
        argument: 'tokenizer',
        message: 'a text passage needs { tokenizer } (or pass token ids).',
      });
    passage = tokenizer.encode(options.passage, { addSpecialTokens: false });
  } else passage = options.passage;
  return {
    kind: 'strategy',
    name: 'exact-extract',
    lossless: false,
    async run(context) {
      const resolved = resolveSpanOptions(context.model, { ...rest, passage: [...passage] });
      const eos = new Set(context.model.info.eosTokenIds);
      // With EOS terminators the answer ends with one (the first id), so generation finishes with reason 'eos'.
      const emitsTerminator = resolved.terminators.every(id => eos.has(id));
      const pending = context.tokens[context.tokens.length - 1];
      const spans = await scoreSequenceSpans(
        context.model,
        context.sequence,
        pending,
        resolved,
        context.remaining() - (emitsTerminator ? 1 : 0),
        context.signal,
        input => context.forward(input),
      );
      onSpans?.(spans);
      const best = spans[0];
      if (!best) return;
      // NOTE: the answer's KV is not committed: generation ends with the answer.
      for (const token of best.tokens) if (!context.emit(token, 'target')) return;
      if (emitsTerminator) context.emit(resolved.terminators[0], 'target');
    },
  };
}
