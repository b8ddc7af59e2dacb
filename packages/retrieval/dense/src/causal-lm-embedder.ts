import {
  InvalidArgumentError,
  UnsupportedCapabilityError,
  type CausalLM,
  type Tokenizer,
} from '@decodekit/core';
import type { Embedder } from './embedder.js';
import { l2Normalize, poolHidden, type Pooling } from './pool-hidden.js';

/** Options of `causalLmEmbedder`. */
export interface CausalLmEmbedderOptions {
  /** A model with `capabilities.hiddenStates` (a graph with a `hidden_states` output). */
  readonly model: CausalLM;
  /** The model's tokenizer. */
  readonly tokenizer: Tokenizer;
  /** `'mean'` (default), `'first'` or `'last'` over the text's rows (the BOS row is never pooled). */
  readonly pooling?: Pooling;
  /**
   * Echo embeddings (Springer et al., 2024): feed `x ; x` and pool only over the second copy, so every pooled
   * row has seen the whole text despite causal attention. Default false.
   */
  readonly echo?: boolean;
}

/**
 * Dense embeddings from a causal LM's final hidden states (the LM head's input): one chain forward with
 * `hidden: true`, pooled over the text's rows and L2-normalised. Untrained, like the zero-shot use of
 * RetroMAE/DefSent-style pooling without their training. Texts longer than the context (half of it with
 * echo) are cut.
 */
export function causalLmEmbedder({
  model,
  tokenizer,
  pooling = 'mean',
  echo = false,
}: CausalLmEmbedderOptions): Embedder {
  if (!model || typeof model.createSequence !== 'function') {
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'causalLmEmbedder() needs a CausalLM (e.g. from loadModel()).',
    });
  }
  if (pooling !== 'mean' && pooling !== 'first' && pooling !== 'last') {
    throw new InvalidArgumentError({
      argument: 'pooling',
      message: `must be 'mean', 'first' or 'last', got ${String(pooling)}`,
    });
  }
  if (!model.capabilities.hiddenStates) {
    throw new UnsupportedCapabilityError({
      capability: 'hiddenStates',
      backendId: model.capabilities.backendId,
      hint: 'Dense embeddings pool hidden states: use a model whose graph has a hidden_states output (decodekit-converted models have one).',
    });
  }
  const width = model.info.hiddenSize;
  const bos = tokenizer.bosTokenId;
  const prefix = bos === undefined ? [] : [bos];
  const room = model.info.contextLength - prefix.length;
  const maxText = echo ? Math.floor(room / 2) : room;
  if (maxText < 1)
    throw new InvalidArgumentError({
      argument: 'model',
      message: `context of ${model.info.contextLength} is too short`,
    });
  return {
    name: `causal-lm-${pooling}${echo ? '-echo' : ''}`,
    dimensions: width,
    async embed(text, { signal } = {}) {
      const ids = tokenizer.encode(text, { addSpecialTokens: false }).slice(0, maxText);
      if (ids.length === 0) return new Float32Array(width);
      const tokens = Int32Array.from(echo ? [...prefix, ...ids, ...ids] : [...prefix, ...ids]);
      const sequence = model.createSequence();
      try {
        const { hidden } = await sequence.forward({ tokens, hidden: true }, { signal });
        if (!hidden || hidden.length !== tokens.length * width) {
          throw new InvalidArgumentError({
            argument: 'model',
            message: `forward returned no hidden states of width ${width}`,
          });
        }
        const fromRow = prefix.length + (echo ? ids.length : 0);
        return l2Normalize(poolHidden(hidden, width, pooling, fromRow));
      } finally {
        sequence.dispose();
      }
    },
  };
}
