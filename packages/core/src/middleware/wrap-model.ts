import type {
  Capabilities,
  CausalLM,
  CreateSequenceOptions,
  ForwardInput,
  ForwardOptions,
  ForwardOutput,
  ModelInfo,
  Sequence,
} from '../types.js';

/**
 * Model middleware: wraps a CausalLM into a CausalLM (the AI SDK's `wrapLanguageModel` idea). Because the
 * wrapped model is a model, every strategy stays exact with respect to it.
 *
 * Stateless middleware (kNN-LM, timing, layer skipping) only needs `wrapForward`. Middleware that keeps
 * state per sequence — a second model's KV stream that follows every commit, truncate and fork (contrastive
 * decoding's amateur, context-aware decoding's context-free stream) — implements `wrapSequence`.
 */
export interface ModelMiddleware {
  readonly name: string;
  /** Info of the wrapped model (name, context length, ...). May throw when the model does not fit. */
  transformInfo?(info: ModelInfo): ModelInfo;
  /** Capabilities of the wrapped model. May throw when the model lacks one the middleware needs. */
  transformCapabilities?(capabilities: Capabilities): Capabilities;
  /**
   * Wraps each Sequence the model opens (`createSequence`): returns the Sequence strategies will see,
   * built over `sequence` (the inner model's, already opened). `model` is the inner model, so a
   * middleware can open more of its sequences. The returned Sequence owns its per-sequence state: its
   * `fork` forks that state too, and its `dispose` releases whatever it opened. `wrapForward`, when
   * also given, wraps the forward of the returned Sequence (and of its forks).
   */
  wrapSequence?(args: { sequence: Sequence; model: CausalLM }): Sequence;
  /**
   * Wraps one forward call. `doForward` runs the inner model; the middleware may change the input, the
   * output, or both (kNN-LM interpolation, logit mixing, timing, caching).
   */
  wrapForward?(args: {
    input: ForwardInput;
    options?: ForwardOptions;
    sequence: Sequence;
    doForward: (input: ForwardInput, options?: ForwardOptions) => Promise<ForwardOutput>;
  }): Promise<ForwardOutput>;
}

/** Applies middleware to a model; the first middleware is the outermost (the list folds in reverse). */
export function wrapModel<TModel extends CausalLM>({
  model,
  middleware,
}: {
  model: TModel;
  middleware: ModelMiddleware | readonly ModelMiddleware[];
}): TModel {
  const list = Array.isArray(middleware) ? [...middleware] : [middleware as ModelMiddleware];
  return list.reverse().reduce<TModel>((inner, layer) => applyMiddleware(inner, layer), model);
}

function applyMiddleware<TModel extends CausalLM>(
  model: TModel,
  middleware: ModelMiddleware,
): TModel {
  const info = middleware.transformInfo ? middleware.transformInfo(model.info) : model.info;
  const capabilities = middleware.transformCapabilities
    ? middleware.transformCapabilities(model.capabilities)
    : model.capabilities;
  const { wrapForward } = middleware;
  const wrapForwards = (inner: Sequence): Sequence => {
    if (!wrapForward) return inner;
    const outer: Sequence = {
      get tokens() {
        return inner.tokens;
      },
      forward: (input, options) =>
        wrapForward({
          input,
          options,
          sequence: inner,
          doForward: (i, o) => inner.forward(i, o),
        }),
      commit: rows => inner.commit(rows),
      truncate: length => inner.truncate(length),
      fork: () => wrapForwards(inner.fork()),
      dispose: () => inner.dispose(),
    };
    return outer;
  };
  // Encoder-decoder models keep `encoderDecoder` (copied below); their sequences are opened from an encoding.
  const open = (options?: CreateSequenceOptions): Sequence => {
    const sequence = model.createSequence(options);
    return wrapForwards(
      middleware.wrapSequence ? middleware.wrapSequence({ sequence, model }) : sequence,
    );
  };
  // Keep every other property of the model (tokenizer, source, ...).
  return Object.assign(Object.create(Object.getPrototypeOf(model)), model, {
    info,
    capabilities,
    createSequence: open,
    dispose: () => model.dispose(),
  }) as TModel;
}
