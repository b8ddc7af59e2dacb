import { ModelFormatError, type ModelInfo } from '@decodekit/core';

type Json = Readonly<Record<string, unknown>>;

/** What the backend needs from `config.json` beyond ModelInfo: the shape of one layer's KV cache. */
export interface ModelShape {
  /** KV heads per layer (H in `past_key_values.{i}.key` [1, H, past, D]). */
  readonly kvHeads: number;
  /** Width of one head (D). */
  readonly headDim: number;
}

function positiveInteger(config: Json, keys: readonly string[], file: string): number {
  for (const key of keys) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ModelFormatError({
        path: file,
        message: `"${key}" must be a positive integer, got ${JSON.stringify(value)}.`,
      });
    }
    return value;
  }
  throw new ModelFormatError({
    path: file,
    message:
      `missing "${keys[0]}"${
        keys.length > 1
          ? ` (or ${keys
              .slice(1)
              .map(key => `"${key}"`)
              .join(', ')})`
          : ''
      }. ` +
      'Re-export the model folder with `decodekit convert` or a transformers.js-compatible exporter.',
  });
}

/** A token id or a list of them (`eos_token_id` may be either), validated; undefined when absent. */
export function tokenIds(value: unknown, key: string, file: string): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  const ids = Array.isArray(value) ? value : [value];
  for (const id of ids) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new ModelFormatError({
        path: file,
        message: `"${key}" must be a token id or a list of token ids, got ${JSON.stringify(value)}.`,
      });
    }
  }
  return ids as number[];
}

/**
 * The end and begin token ids: generation_config.json's first, else config.json's (an id or a list), each
 * checked against the vocabulary together with `also` (further special ids the caller read, such as an
 * encoder-decoder's `decoder_start_token_id`). End ids come back without repeats.
 * @throws ModelFormatError when an id is not a non-negative integer or lies outside the vocabulary.
 */
export function specialTokenIds(
  config: Json,
  generationConfig: Json | undefined,
  file: string,
  vocabSize: number,
  also: readonly number[] = [],
): { eosTokenIds: number[]; bosTokenId?: number } {
  const generationFile = 'generation_config.json';
  const eosTokenIds =
    tokenIds(generationConfig?.eos_token_id, 'eos_token_id', generationFile) ??
    tokenIds(config.eos_token_id, 'eos_token_id', file) ??
    [];
  const bosTokenId =
    tokenIds(generationConfig?.bos_token_id, 'bos_token_id', generationFile)?.[0] ??
    tokenIds(config.bos_token_id, 'bos_token_id', file)?.[0];
  for (const id of [...also, ...eosTokenIds, ...(bosTokenId === undefined ? [] : [bosTokenId])]) {
    if (id >= vocabSize) {
      throw new ModelFormatError({
        path: file,
        message: `special token id ${id} is outside the vocabulary (vocab_size ${vocabSize}).`,
      });
    }
  }
  return { eosTokenIds: [...new Set(eosTokenIds)], bosTokenId };
}

/**
 * ModelInfo and the KV shape from `config.json` and `generation_config.json` (Hugging Face names).
 * EOS ids come from `generation_config.eos_token_id` (a number or a list), falling back to the config.
 */
export function readModelConfig(
  config: Json,
  generationConfig: Json | undefined,
  name: string,
  /** The file `config` came from, for messages (`genai_config.json` for onnxruntime-genai folders). */
  file = 'config.json',
): { info: ModelInfo; shape: ModelShape } {
  const vocabSize = positiveInteger(config, ['vocab_size'], file);
  const numLayers = positiveInteger(config, ['num_hidden_layers', 'n_layer', 'num_layers'], file);
  const hiddenSize = positiveInteger(config, ['hidden_size', 'n_embd', 'd_model'], file);
  const contextLength = positiveInteger(
    config,
    ['max_position_embeddings', 'n_positions', 'max_sequence_length'],
    file,
  );
  const heads = positiveInteger(config, ['num_attention_heads', 'n_head'], file);
  const kvHeads =
    config.num_key_value_heads === undefined
      ? heads
      : positiveInteger(config, ['num_key_value_heads'], file);
  const headDim =
    config.head_dim === undefined
      ? hiddenSize / heads
      : positiveInteger(config, ['head_dim'], file);
  if (!Number.isInteger(headDim)) {
    throw new ModelFormatError({
      path: file,
      message: `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${heads}; add "head_dim".`,
    });
  }
  const { eosTokenIds, bosTokenId } = specialTokenIds(config, generationConfig, file, vocabSize);
  return {
    info: { name, vocabSize, contextLength, bosTokenId, eosTokenIds, numLayers, hiddenSize },
    shape: { kvHeads, headDim },
  };
}
