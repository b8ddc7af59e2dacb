import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  VocabMismatchError,
  type CausalLM,
  type ForwardInput,
  type ForwardOptions,
  type ForwardOutput,
  type Sequence,
} from '@decodekit/core';

/** Options of `contrastiveDecoding`. */
export interface ContrastiveDecodingOptions<TModel extends CausalLM> {
  /** The strong model whose distribution is sharpened. Its other properties (tokenizer, ...) are kept. */
  expert: TModel;
  /** The weak model whose mistakes are subtracted; same vocabulary as the expert. */
  amateur: CausalLM;
  /** Plausibility threshold α: tokens with p_expert < α · max p_expert are banned. Default 0.1. */
  alpha?: number;
  /** Contrast strength β in `(1 + β) · z_expert − β · z_amateur` (logits). Default 0.5. */
  beta?: number;
  /** Temperature τ dividing the amateur's logits. Default 1. */
  amateurTemperature?: number;
}

/**
 * Contrastive Decoding (Li et al., 2022, https://arxiv.org/abs/2210.15097) in the form of O'Brien & Lewis
 * (2023, https://arxiv.org/abs/2309.09117): a model whose next-token logits are
 * `(1 + β) · z_expert − β · z_amateur / τ` (logits; the same distribution as with log-probabilities) on the plausible tokens `{x : p_expert(x) ≥ α · max p_expert}`
 * and −∞ elsewhere. It is model middleware over two streams: every forward runs on both models (same
 * tokens, own KV caches), so the result is a CausalLM and any strategy or processor decodes it, streaming
 * included. β = 0 keeps the expert's ranking (greedy is unchanged); Li et al.'s `log p_e − log p_a`
 * ranking is the β → ∞ limit.
 *
 * @example
 * const model = contrastiveDecoding({ expert: await loadModel('karpathy/tinyllamas/stories260K'), amateur: await loadModel('llama2xs') });
 * const { text } = await createDecoder({ model }).generate('Once upon a time', { maxTokens: 64 });
 */
export function contrastiveDecoding<TModel extends CausalLM>(
  options: ContrastiveDecodingOptions<TModel>,
): TModel {
  const { expert, amateur } = options;
  const alpha = options.alpha ?? 0.1;
  const beta = options.beta ?? 0.5;
  const amateurTemperature = options.amateurTemperature ?? 1;
  if (!expert || typeof expert.createSequence !== 'function')
    throw new InvalidArgumentError({ argument: 'expert', message: 'needs a CausalLM.' });
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
  if (expert.info.vocabSize !== amateur.info.vocabSize) {
    throw new VocabMismatchError({
      message: `The expert (${expert.info.name}) has ${expert.info.vocabSize} tokens and the amateur (${amateur.info.name}) ${amateur.info.vocabSize}; contrastive decoding needs one vocabulary.`,
    });
  }
  const vocab = expert.info.vocabSize;
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

  return Object.assign(Object.create(Object.getPrototypeOf(expert)), expert, {
    info: {
      ...expert.info,
      name: `contrastive(${expert.info.name} − ${amateur.info.name}, α=${alpha}, β=${beta})`,
      contextLength: Math.min(expert.info.contextLength, amateur.info.contextLength),
    },
    capabilities: {
      tree: expert.capabilities.tree && amateur.capabilities.tree,
      hiddenStates: false,
      layerSkip: false,
      backendId: `contrastive(${expert.capabilities.backendId}, ${amateur.capabilities.backendId})`,
    },
    createSequence: () => pair(expert.createSequence(), amateur.createSequence()),
    // The inner models belong to the caller (they may be shared); disposing the wrapper leaves them alone.
    dispose: async () => {},
  }) as TModel;
}
