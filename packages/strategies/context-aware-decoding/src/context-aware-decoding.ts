import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  wrapModel,
  type CausalLM,
  type ForwardInput,
  type ForwardOptions,
  type ForwardOutput,
  type ModelMiddleware,
  type Sequence,
  type Tokenizer,
  invariant,
} from '@decodekit/core';
import { contextSpan, type ContextSpan } from './context-span.js';

/** Options of `contextAwareDecodingMiddleware`. */
export interface ContextAwareDecodingMiddlewareOptions {
  /**
   * The part of the prompt that is the context (document, retrieved passage): its text, or its token ids
   * exactly as they appear in the prompt. The prompt given to the decoder must contain it; the stream
   * "without the context" is the same prompt with these tokens removed.
   */
  context: string | readonly number[];
  /** Strength α in `(1 + α) · z(y | c, x) − α · z(y | x)` (logits). Default 0.5 (Shi et al.). */
  alpha?: number;
  /** Finds a text `context` in the prompt's tokens; required for a text context. */
  tokenizer?: Pick<Tokenizer, 'tokenBytes'>;
}

/** Options of `contextAwareDecoding`. */
export interface ContextAwareDecodingOptions<
  TModel extends CausalLM,
> extends ContextAwareDecodingMiddlewareOptions {
  /** The model; its other properties (tokenizer, source, ...) are kept on the result. */
  model: TModel;
  /** Finds a text `context` in the prompt's tokens; defaults to `model.tokenizer`. */
  tokenizer?: Pick<Tokenizer, 'tokenBytes'>;
}

/** What one forward of the wrapped sequence left for `commit`. */
interface LastForward {
  /** Catch-up rows fed to the null stream before the mapped rows. */
  readonly catchUp: number;
  /** Null-stream row of each input row, -1 for rows inside the context. [rows] */
  readonly nullRow: Int32Array;
}

/**
 * Context-aware decoding (Shi et al., 2023, "Trusting Your Evidence: Hallucinate Less with Context-aware
 * Decoding", https://arxiv.org/abs/2305.14739; the QFS reproducibility study, Xu 2024,
 * https://arxiv.org/abs/2312.14335) as model middleware: the wrapped model's next-token logits become
 * `(1 + α) · z(y | c, x) − α · z(y | x)`, where `z(y | c, x)` sees the whole prompt and `z(y | x)` sees the
 * prompt with the context `c` removed. Both streams see the same generated tokens.
 *
 * Every sequence of the wrapped model opens a second, "null" sequence of the same model (`wrapSequence`):
 * the context is located in the tokens the first forwards see (the prompt), and the null stream is kept
 * equal to every committed token outside the context, with its own KV cache. So the result is a CausalLM:
 * `createDecoder({ model }).generate(prompt)` works unchanged, streaming, processors and every strategy
 * included (they act on the combined logits, as in the official code). Rows before the end of the context
 * are prompt positions and keep the plain logits; so does the last context token when nothing precedes the
 * context (the stream without it would be empty).
 *
 * @throws InvalidArgumentError when α is negative, the context is empty or a text context has no
 *   tokenizer; `wrapModel` throws it for context ids outside the model's vocabulary; forward throws it when
 *   the context does not occur in the prompt.
 * @example
 * const model = wrapModel({ model: base, middleware: contextAwareDecodingMiddleware({ context: story, tokenizer: base.tokenizer }) });
 */
export function contextAwareDecodingMiddleware(
  options: ContextAwareDecodingMiddlewareOptions,
): ModelMiddleware {
  const { context, tokenizer } = options;
  const alpha = options.alpha ?? 0.5;
  if (!(Number.isFinite(alpha) && alpha >= 0)) {
    throw new InvalidArgumentError({
      argument: 'alpha',
      message: `must be a finite number ≥ 0, got ${alpha}.`,
    });
  }
  if (typeof context === 'string') {
    if (context.length === 0)
      throw new InvalidArgumentError({ argument: 'context', message: 'is empty.' });
    if (!tokenizer || typeof tokenizer.tokenBytes !== 'function') {
      throw new InvalidArgumentError({
        argument: 'tokenizer',
        message:
          'a text context needs a tokenizer to find it in the prompt: pass `tokenizer`, a model from loadModel(), or the context as token ids.',
      });
    }
  } else if (
    !Array.isArray(context) ||
    context.length === 0 ||
    !context.every(id => Number.isInteger(id) && id >= 0)
  ) {
    throw new InvalidArgumentError({
      argument: 'context',
      message: 'pass a non-empty string or array of token ids (non-negative integers).',
    });
  }
  const describeContext =
    typeof context === 'string'
      ? `"${context.length > 40 ? `${context.slice(0, 40)}…` : context}"`
      : `[${context.slice(0, 8).join(', ')}${context.length > 8 ? ', …' : ''}]`;

  const combine = (
    vocab: number,
    full: Float32Array,
    nullLogits: Float32Array,
    row: number,
    nullRowIndex: number,
  ): void => {
    const offset = row * vocab;
    const nullOffset = nullRowIndex * vocab;
    for (let i = 0; i < vocab; i++)
      full[offset + i] = (1 + alpha) * full[offset + i] - alpha * nullLogits[nullOffset + i];
  };

  const pair = (
    vocab: number,
    full: Sequence,
    nullStream: Sequence,
    initialSpan: ContextSpan | undefined,
  ): Sequence => {
    let span = initialSpan;
    let last: LastForward | undefined;
    return {
      get tokens() {
        return full.tokens;
      },
      async forward(input: ForwardInput, forwardOptions?: ForwardOptions): Promise<ForwardOutput> {
        if (input.hidden || input.skipLayers?.length) {
          throw new UnsupportedCapabilityError({
            capability: input.hidden ? 'hiddenStates' : 'layerSkip',
            backendId: 'context-aware-decoding',
            hint: 'The combined model has no single hidden state or layer stack.',
          });
        }
        last = undefined;
        const committed = full.tokens;
        const prefixLength = committed.length;
        const rows = input.tokens.length;
        const parents = input.parents;
        const parentOf = (row: number): number => (parents ? parents[row] : row - 1);
        if (!span) {
          // Look in the committed tokens plus the leading chain of this call (the prompt's tail).
          let chain = 0;
          while (chain < rows && parentOf(chain) === chain - 1) chain++;
          span = contextSpan(
            [...committed, ...input.tokens.subarray(0, chain)],
            context,
            tokenizer,
          );
          if (!span) {
            if (prefixLength > 0) {
              throw new InvalidArgumentError({
                argument: 'context',
                message: `the context ${describeContext} does not occur in the prompt (${prefixLength + chain} tokens seen). Put the context verbatim into the prompt, or pass its token ids exactly as they appear there.`,
              });
            }
            return full.forward(input, forwardOptions);
          }
        }
        const { start, end } = span;
        // Null-stream view of the committed prefix: every token outside [start, end).
        const target: number[] = [];
        for (let position = 0; position < prefixLength; position++)
          if (position < start || position >= end) target.push(committed[position]);
        const depth = new Int32Array(rows);
        const nearestKept = new Int32Array(rows); // nearest kept ancestor-or-self inside this call, -1 = none
        const kept = new Uint8Array(rows);
        let needsEndOfPrefix = false;
        for (let row = 0; row < rows; row++) {
          const parent = parentOf(row);
          depth[row] = parent < 0 ? 0 : depth[parent] + 1;
          const position = prefixLength + depth[row];
          kept[row] = position < start || position >= end ? 1 : 0;
          nearestKept[row] = kept[row] ? row : parent < 0 ? -1 : nearestKept[parent];
          if (position >= end - 1 && nearestKept[row] < 0) needsEndOfPrefix = true;
        }
        // Resynchronize the null stream with the target (after truncates, forks or uncommitted rows).
        const existing = nullStream.tokens;
        let common = 0;
        while (
          common < existing.length &&
          common < target.length &&
          existing[common] === target[common]
        )
          common++;
        // Re-feed the last null token to get the logits that follow it. With nothing before the context
        // there is no such token: z(y | x) is undefined for an empty x, and those rows keep the plain logits.
        if (needsEndOfPrefix && common === target.length && common > 0) common -= 1;
        if (common < existing.length) nullStream.truncate(common);
        const catchUp = target.slice(common);
        const nullTokens: number[] = [...catchUp];
        const nullParents: number[] = catchUp.map((_, i) => i - 1);
        const nullRow = new Int32Array(rows).fill(-1);
        for (let row = 0; row < rows; row++) {
          if (!kept[row]) continue;
          const parent = parentOf(row);
          const keptParent = parent < 0 ? -1 : nearestKept[parent];
          nullRow[row] = nullTokens.length;
          nullParents.push(keptParent >= 0 ? nullRow[keptParent] : catchUp.length - 1);
          nullTokens.push(input.tokens[row]);
        }
        const nullInput =
          nullTokens.length === 0
            ? undefined
            : {
                tokens: Int32Array.from(nullTokens),
                ...(parents ? { parents: Int32Array.from(nullParents) } : {}),
              };
        const [fullOutput, nullOutput] = await Promise.all([
          full.forward({ tokens: input.tokens, parents }, forwardOptions),
          nullInput ? nullStream.forward(nullInput, forwardOptions) : undefined,
        ]);
        last = { catchUp: catchUp.length, nullRow };
        const logits = new Float32Array(fullOutput.logits);
        for (let row = 0; row < rows; row++) {
          if (prefixLength + depth[row] < end - 1) continue; // a prompt position inside or before the context
          const source = nearestKept[row] >= 0 ? nullRow[nearestKept[row]] : catchUp.length - 1;
          if (source >= 0) {
            invariant(nullOutput !== undefined, 'a kept null row means the null stream was fed');
            combine(vocab, logits, nullOutput.logits, row, source);
          }
        }
        return { logits };
      },
      commit(rows) {
        full.commit(rows);
        if (!last) return;
        const keep: number[] = [];
        for (let i = 0; i < last.catchUp; i++) keep.push(i);
        for (let i = 0; i < rows.length; i++)
          if (last.nullRow[rows[i]] >= 0) keep.push(last.nullRow[rows[i]]);
        if (keep.length > 0) nullStream.commit(keep);
        last = undefined;
      },
      truncate(length) {
        full.truncate(length);
        // The null stream follows lazily at the next forward; a cut inside the context forgets where it was.
        if (span && length < span.end) span = undefined;
        last = undefined;
      },
      fork: () => pair(vocab, full.fork(), nullStream.fork(), span),
      dispose() {
        full.dispose();
        nullStream.dispose();
      },
    };
  };

  return {
    name: `context-aware-decoding(α=${alpha})`,
    transformInfo(info) {
      if (typeof context !== 'string') {
        for (const id of context) {
          if (id >= info.vocabSize) {
            throw new InvalidArgumentError({
              argument: 'context',
              message: `token id ${id} is outside the vocabulary [0, ${info.vocabSize}).`,
            });
          }
        }
      }
      return { ...info, name: `context-aware(${info.name}, α=${alpha})` };
    },
    transformCapabilities: capabilities => ({
      tree: capabilities.tree,
      hiddenStates: false,
      layerSkip: false,
      backendId: `context-aware(${capabilities.backendId})`,
    }),
    wrapSequence: ({ sequence, model }) =>
      pair(model.info.vocabSize, sequence, model.createSequence(), undefined),
  };
}

/**
 * Context-aware decoding of `model`: `wrapModel` with `contextAwareDecodingMiddleware`, whose tokenizer
 * defaults to `model.tokenizer`. The inner model belongs to the caller: disposing the result leaves it alone.
 *
 * @throws InvalidArgumentError as `contextAwareDecodingMiddleware`, and when `model` is not a CausalLM.
 * @example
 * const story = 'Zara had a blue kite.';
 * const model = contextAwareDecoding({ model: await loadModel('karpathy/tinyllamas/stories260K'), context: story, alpha: 1 });
 * const { text } = await createDecoder({ model }).generate(`${story}\nOnce upon a time, there was a girl named`, { maxTokens: 32 });
 */
export function contextAwareDecoding<TModel extends CausalLM>(
  options: ContextAwareDecodingOptions<TModel>,
): TModel {
  const { model, ...middlewareOptions } = options;
  if (!model || typeof model.createSequence !== 'function') {
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'needs a CausalLM (e.g. from loadModel()).',
    });
  }
  const wrapped = wrapModel({
    model,
    middleware: contextAwareDecodingMiddleware({
      ...middlewareOptions,
      tokenizer:
        typeof options.context === 'string'
          ? (options.tokenizer ?? (model as { tokenizer?: Tokenizer }).tokenizer)
          : options.tokenizer,
    }),
  });
  return Object.assign(wrapped, { dispose: async () => {} });
}
