import { InvalidArgumentError, type CausalLM, type Tokenizer } from '@decodekit/core';
import type { SparseEncoder } from './sparse-encoder.js';
import { spladeMaxPool } from './splade-pooling.js';
import { pruneTopK } from './sparse-vector.js';

/** Options of `causalLmSplade`. */
export interface CausalLmSpladeOptions {
  /** Any decoder-only model; one chain forward yields the logits of every position. */
  readonly model: CausalLM;
  /** The model's tokenizer. */
  readonly tokenizer: Tokenizer;
  /**
   * Echo embeddings (Springer et al., 2024, used by Mistral-SPLADE): feed `x ; x` and pool only over the second
   * copy, so every pooled position has seen the whole text despite causal attention. Default true.
   */
  readonly echo?: boolean;
  /** Keep the `topK` largest weights per text (0 = every positive weight). Default 256. */
  readonly topK?: number;
}

/**
 * Mistral-SPLADE's decoder mode (Doshi et al., 2024, https://arxiv.org/abs/2408.11119): the causal LM's
 * next-token logits at every input position are max-pooled with `log(1 + ReLU(.))` into a vocabulary-sized
 * sparse vector. Untrained, this is a zero-shot baseline: the paper fine-tunes the LM with a sparsity loss.
 * Texts longer than the context (half of it in echo mode) are cut.
 */
export function causalLmSplade({
  model,
  tokenizer,
  echo = true,
  topK = 256,
}: CausalLmSpladeOptions): SparseEncoder {
  pruneTopK(new Float32Array(0), topK); // validates topK
  const vocabSize = model.info.vocabSize;
  const bos = tokenizer.bosTokenId;
  const room = model.info.contextLength - (bos === undefined ? 0 : 1);
  if (room < (echo ? 2 : 1)) {
    throw new InvalidArgumentError({
      argument: 'model',
      message: `context of ${model.info.contextLength} is too short`,
    });
  }
  const maxText = echo ? Math.floor(room / 2) : room;
  return {
    name: echo ? 'splade-causal-echo' : 'splade-causal',
    vocabSize,
    async encode(text, { signal } = {}) {
      const ids = tokenizer.encode(text, { addSpecialTokens: false }).slice(0, maxText);
      if (ids.length === 0) return pruneTopK(new Float32Array(vocabSize), topK);
      const prefix = bos === undefined ? [] : [bos];
      const tokens = Int32Array.from(echo ? [...prefix, ...ids, ...ids] : [...prefix, ...ids]);
      const sequence = model.createSequence();
      try {
        const { logits } = await sequence.forward({ tokens }, { signal });
        const fromRow = echo ? prefix.length + ids.length : prefix.length;
        return pruneTopK(spladeMaxPool(logits, vocabSize, { fromRow }), topK);
      } finally {
        sequence.dispose();
      }
    },
  };
}
