import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  VocabMismatchError,
  wrapModel,
  type CausalLM,
  type ForwardInput,
  type ForwardOptions,
  type ForwardOutput,
  type ModelMiddleware,
  type Sequence,
} from '@decodekit/core';

/** Options of `contrastiveDecodingMiddleware`: the amateur and the contrast's parameters. */
export interface ContrastiveDecodingMiddlewareOptions {
  /** The weak model whose mistakes are subtracted; same vocabulary as the expert. */
  amateur: CausalLM;
  /** Plausibility threshold α: tokens with p_expert < α · max p_expert are banned. Default 0.1. */
  alpha?: number;
  /** Contrast strength β in `(1 + β) · z_expert − β · z_amateur` (logits). Default 0.5. */
  beta?: number;
  /** Temperature τ dividing the amateur's logits. Default 1. */
  amateurTemperature?: number;
}

/** Options of `contrastiveDecoding`. */
export interface ContrastiveDecodingOptions<
  TModel extends CausalLM,
> extends ContrastiveDecodingMiddlewareOptions {
  /** The strong model whose distribution is sharpened. Its other properties (tokenizer, ...) are kept. */
  expert: TModel;
}

/**
 * Contrastive Decoding (Li et al., 2022, https://arxiv.org/abs/2210.15097) in the form of O'Brien & Lewis
 * (2023, https://arxiv.org/abs/2309.09117) as model middleware: the wrapped (expert) model's next-token
 * logits become `(1 + β) · z_expert − β · z_amateur / τ` (logits; the same distribution as with
 * log-probabilities) on the plausible tokens `{x : p_expert(x) ≥ α · max p_expert}` and −∞ elsewhere.
 * Every sequence of the wrapped model opens one of the amateur (`wrapSequence`); every forward runs on
 * both (same tokens, own KV caches), and commits, truncates and forks go to both. β = 0 keeps the expert's
 * ranking (greedy is unchanged); Li et al.'s `log p_e − log p_a` ranking is the β → ∞ limit.
 *
 * @throws InvalidArgumentError for an option out of range; `wrapModel` throws VocabMismatchError when the
 *   expert's vocabulary differs from the amateur's.
 * @example
 * const model = wrapModel({ model: expert, middleware: contrastiveDecodingMiddleware({ amateur }) });
 */
export function contrastiveDecodingMiddleware(
  options: ContrastiveDecodingMiddlewareOptions,
): ModelMiddleware {
  const { amateur } = options;
  const alpha = options.alpha ?? 0.1;
  const beta = options.beta ?? 0.5;
  const amateurTemperature = options.amateurTemperature ?? 1;
  if (!amateur || typeof amateur.createSequence !== 'function')
    throw new InvalidArgumentError({ argument: 'amateur', message: 'needs a CausalLM.' });
  if (!(alpha >= 0 && alpha <= 1))
    throw new InvalidArgumentError({
      argument: 'alpha',
      message: `must be in [0, 1], got ${alpha}.`,
    });
  if (!(Number.isFinite(beta) && beta >= 0))
    throw new InvalidArgumentError({
      argument: 'beta',
      message: `must be a finite number ≥ 0, got ${beta}.`,
    });
  if (!(Number.isFinite(amateurTemperature) && amateurTemperature > 0)) {
    throw new InvalidArgumentError({
      argument: 'amateurTemperature',
      message: `must be > 0, got ${amateurTemperature}.`,
    });
  }
  const vocab = amateur.info.vocabSize;
  const logThreshold = Math.log(alpha);

  // On raw logits, as O'Brien & Lewis: softmax (and so sampling and greedy) is the same as on log-probs,
  // but β = 0 returns the expert's own logits, so sign-sensitive processors (repetition penalty) act as usual.
  const combine = (expertLogits: Float32Array, amateurLogits: Float32Array): Float32Array => {
    const rows = expertLogits.length / vocab;
    const out = new Float32Array(expertLogits.length);
    for (let row = 0; row < rows; row++) {
      const offset = row * vocab;
      let max = -Infinity;
      for (let i = 0; i < vocab; i++)
        if (expertLogits[offset + i] > max) max = expertLogits[offset + i];
      // p_e(x) ≥ α · max p_e  ⇔  z_e(x) ≥ max z_e + log α (the softmax normalizer cancels).
      const cutoff = max + logThreshold;
      for (let i = 0; i < vocab; i++) {
        const expertLogit = expertLogits[offset + i];
        out[offset + i] =
          expertLogit < cutoff || expertLogit === -Infinity
            ? -Infinity
            : beta === 0
              ? expertLogit
              : (1 + beta) * expertLogit - (beta * amateurLogits[offset + i]) / amateurTemperature;
      }
    }
    return out;
  };

  const pair = (expertSequence: Sequence, amateurSequence: Sequence): Sequence => ({
    get tokens() {
      return expertSequence.tokens;
    },
    async forward(input: ForwardInput, forwardOptions?: ForwardOptions): Promise<ForwardOutput> {
      if (input.hidden || input.skipLayers?.length) {
        throw new UnsupportedCapabilityError({
          capability: input.hidden ? 'hiddenStates' : 'layerSkip',
          backendId: 'contrastive-decoding',
          hint: 'The contrasted model has no single hidden state or layer stack.',
        });
      }
      const [expertOutput, amateurOutput] = await Promise.all([
        expertSequence.forward({ tokens: input.tokens, parents: input.parents }, forwardOptions),
        amateurSequence.forward({ tokens: input.tokens, parents: input.parents }, forwardOptions),
      ]);
      return { logits: combine(expertOutput.logits, amateurOutput.logits) };
    },
    commit(rows) {
      expertSequence.commit(rows);
      amateurSequence.commit(rows);
    },
    truncate(length) {
      expertSequence.truncate(length);
      amateurSequence.truncate(length);
    },
    fork: () => pair(expertSequence.fork(), amateurSequence.fork()),
    dispose() {
      expertSequence.dispose();
      amateurSequence.dispose();
    },
  });

  return {
    name: `contrastive-decoding(α=${alpha}, β=${beta})`,
    transformInfo(info) {
      if (info.vocabSize !== amateur.info.vocabSize) {
        throw new VocabMismatchError({
          message: `The expert (${info.name}) has ${info.vocabSize} tokens and the amateur (${amateur.info.name}) ${amateur.info.vocabSize}; contrastive decoding needs one vocabulary.`,
        });
      }
      return {
        ...info,
        name: `contrastive(${info.name} − ${amateur.info.name}, α=${alpha}, β=${beta})`,
        contextLength: Math.min(info.contextLength, amateur.info.contextLength),
      };
    },
    transformCapabilities: capabilities => ({
      tree: capabilities.tree && amateur.capabilities.tree,
      hiddenStates: false,
      layerSkip: false,
      backendId: `contrastive(${capabilities.backendId}, ${amateur.capabilities.backendId})`,
    }),
    wrapSequence: ({ sequence }) => pair(sequence, amateur.createSequence()),
  };
}

/**
 * Contrastive decoding of `expert` against `amateur`: `wrapModel` with `contrastiveDecodingMiddleware`.
 * The result is a CausalLM, so any strategy or processor decodes it, streaming included. The inner models
 * belong to the caller (they may be shared): disposing the result leaves them alone.
 *
 * @example
 * const model = contrastiveDecoding({ expert: await loadModel('karpathy/tinyllamas/stories260K'), amateur: await loadModel('llama2xs') });
 * const { text } = await createDecoder({ model }).generate('Once upon a time', { maxTokens: 64 });
 */
export function contrastiveDecoding<TModel extends CausalLM>(
  options: ContrastiveDecodingOptions<TModel>,
): TModel {
  const { expert, ...middlewareOptions } = options;
  if (!expert || typeof expert.createSequence !== 'function')
    throw new InvalidArgumentError({ argument: 'expert', message: 'needs a CausalLM.' });
  const model = wrapModel({
    model: expert,
    middleware: contrastiveDecodingMiddleware(middlewareOptions),
  });
  return Object.assign(model, { dispose: async () => {} });
}
