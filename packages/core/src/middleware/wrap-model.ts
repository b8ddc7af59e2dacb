import type {
  Capabilities,
  CausalLM,
  ForwardInput,
  ForwardOptions,
  ForwardOutput,
  ModelInfo,
  Sequence,
} from '../types.js';

/**
 * Model middleware: wraps a CausalLM into a CausalLM (the AI SDK's `wrapLanguageModel` idea). Because the
 * wrapped model is a model, every strategy stays exact with respect to it.
 */
export interface ModelMiddleware {
  readonly name: string;
  transformInfo?(info: ModelInfo): ModelInfo;
  transformCapabilities?(capabilities: Capabilities): Capabilities;
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
  const wrapSequence = (inner: Sequence): Sequence => {
    const outer: Sequence = {
      get tokens() {
        return inner.tokens;
      },
      forward: (input, options) =>
        middleware.wrapForward
          ? middleware.wrapForward({
              input,
              options,
              sequence: inner,
              doForward: (i, o) => inner.forward(i, o),
            })
          : inner.forward(input, options),
      commit: rows => inner.commit(rows),
      truncate: length => inner.truncate(length),
      fork: () => wrapSequence(inner.fork()),
      dispose: () => inner.dispose(),
    };
    return outer;
  };
  // Keep every other property of the model (tokenizer, source, ...).
  return Object.assign(Object.create(Object.getPrototypeOf(model)), model, {
    info,
    capabilities,
    createSequence: () => wrapSequence(model.createSequence()),
    dispose: () => model.dispose(),
  }) as TModel;
}
