import { InvalidArgumentError, ModelFormatError, type Tokenizer } from '@decodekit/core';
import type { SparseEncoder } from './sparse-encoder.js';
import { spladeMaxPool } from './splade-pooling.js';
import { pruneTopK } from './sparse-vector.js';

/** Runs a masked-LM export on one tokenized text and returns its logits. */
export type MlmRunner = (input: {
  /** Token ids. [length] */
  readonly inputIds: BigInt64Array;
  /** 1 for real tokens, 0 for padding. [length] */
  readonly attentionMask: BigInt64Array;
  readonly signal?: AbortSignal;
}) => Promise<Float32Array>; // [length, vocab]

/** The part of an onnxruntime `InferenceSession` that `onnxMlmRunner` uses (node, web and CUDA all fit). */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(
    feeds: Record<string, unknown>,
  ): Promise<Record<string, { readonly data: unknown; readonly dims: readonly number[] }>>;
}

/** The onnxruntime `Tensor` constructor (passed in so this package does not depend on a runtime). */
export type OrtTensorConstructor = new (
  type: 'int64',
  data: BigInt64Array,
  dims: readonly number[],
) => unknown;

/**
 * An `MlmRunner` over a standard SPLADE / BERT-style MLM ONNX export: inputs `input_ids`, `attention_mask`
 * (and `token_type_ids`, fed zeros, when the graph has it), output `logits` [1, length, vocab].
 */
export function onnxMlmRunner({
  session,
  Tensor,
  logitsName = 'logits',
}: {
  session: OrtSessionLike;
  Tensor: OrtTensorConstructor;
  logitsName?: string;
}): MlmRunner {
  for (const name of ['input_ids', 'attention_mask']) {
    if (!session.inputNames.includes(name)) {
      throw new ModelFormatError({
        path: 'mlm session',
        message: `has no input "${name}" (inputs: ${session.inputNames.join(', ')})`,
      });
    }
  }
  if (!session.outputNames.includes(logitsName)) {
    throw new ModelFormatError({
      path: 'mlm session',
      message: `has no output "${logitsName}" (outputs: ${session.outputNames.join(', ')}); pass logitsName`,
    });
  }
  const withTokenTypes = session.inputNames.includes('token_type_ids');
  return async ({ inputIds, attentionMask, signal }) => {
    signal?.throwIfAborted();
    const dims = [1, inputIds.length];
    const feeds: Record<string, unknown> = {
      input_ids: new Tensor('int64', inputIds, dims),
      attention_mask: new Tensor('int64', attentionMask, dims),
    };
    if (withTokenTypes)
      feeds.token_type_ids = new Tensor('int64', new BigInt64Array(inputIds.length), dims);
    const outputs = await session.run(feeds);
    signal?.throwIfAborted();
    const logits = outputs[logitsName];
    if (!(logits.data instanceof Float32Array)) {
      throw new ModelFormatError({
        path: 'mlm session',
        message: `output "${logitsName}" must be float32`,
      });
    }
    return logits.data;
  };
}

/** Options of `mlmSplade`. */
export interface MlmSpladeOptions {
  /** Runs the MLM export (see `onnxMlmRunner`). */
  readonly runner: MlmRunner;
  /** The encoder's tokenizer; `encode` must add the model's special tokens ([CLS] ... [SEP]). */
  readonly tokenizer: Tokenizer;
  /** Vocabulary size of the MLM head (row length of the logits). */
  readonly vocabSize: number;
  /** Keep the `topK` largest weights per text (0 = keep every positive weight). Default 256. */
  readonly topK?: number;
  /** Longest input in tokens; longer texts are cut (BERT exports: 512). Default 512. */
  readonly maxLength?: number;
}

/**
 * SPLADE over a masked-LM export (Formal et al., 2021): one forward, then the max-pooled
 * `log(1 + ReLU(logits))` over the unmasked positions, pruned to the top-k terms.
 */
export function mlmSplade({
  runner,
  tokenizer,
  vocabSize,
  topK = 256,
  maxLength = 512,
}: MlmSpladeOptions): SparseEncoder {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new InvalidArgumentError({
      argument: 'vocabSize',
      message: `vocabSize must be a positive integer, got ${vocabSize}`,
    });
  }
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new InvalidArgumentError({
      argument: 'maxLength',
      message: `maxLength must be a positive integer, got ${maxLength}`,
    });
  }
  pruneTopK(new Float32Array(0), topK); // validates topK
  return {
    name: 'splade-mlm',
    vocabSize,
    async encode(text, { signal } = {}) {
      const ids = tokenizer.encode(text).slice(0, maxLength);
      if (ids.length === 0) return pruneTopK(new Float32Array(vocabSize), topK);
      const inputIds = BigInt64Array.from(ids, id => BigInt(id));
      const attentionMask = new BigInt64Array(ids.length).fill(1n);
      const logits = await runner({ inputIds, attentionMask, signal });
      return pruneTopK(spladeMaxPool(logits, vocabSize, { mask: attentionMask }), topK);
    },
  };
}
