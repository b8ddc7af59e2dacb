import { ModelFormatError } from '@decodekit/core';

type Json = Readonly<Record<string, unknown>>;

/**
 * Where the decoder graph of a model folder can be, in the order they are tried (after
 * onnxruntime-genai's `genai_config.json`, which names its graph itself): decodekit's and transformers.js'
 * `onnx/model.onnx`, a flat `model.onnx` (optimum), and optimum's merged decoder.
 */
export const GRAPH_FILES = [
  'onnx/model.onnx',
  'model.onnx',
  'onnx/decoder_model_merged.onnx',
  'decoder_model_merged.onnx',
] as const;

/**
 * Split decoder pairs (older optimum exports): the first graph runs the prompt on an empty cache, the
 * with-past graph every later forward.
 */
export const SPLIT_GRAPH_FILES = [
  { first: 'onnx/decoder_model.onnx', withPast: 'onnx/decoder_with_past_model.onnx' },
  { first: 'decoder_model.onnx', withPast: 'decoder_with_past_model.onnx' },
] as const;

/**
 * The encoder of an encoder-decoder export (optimum / transformers.js seq2seq layout), beside its decoder
 * graphs: a folder that has one is loaded as an encoder-decoder model.
 */
export const ENCODER_FILES = ['onnx/encoder_model.onnx', 'encoder_model.onnx'] as const;

/** The folder layouts decodekit reads, for error messages. */
export const LAYOUT_HINT =
  'A model folder needs tokenizer.json and either config.json with a decoder graph (onnx/model.onnx, model.onnx, ' +
  'decoder_model_merged.onnx, or the decoder_model.onnx + decoder_with_past_model.onnx pair, flat or under onnx/; ' +
  'encoder-decoder exports add encoder_model.onnx beside it), ' +
  "or onnxruntime-genai's genai_config.json with the graph it names (generation_config.json and " +
  'tokenizer_config.json are optional). Convert a llama2.c checkpoint with `decodekit convert`, or resolve hub ids ' +
  'with loadModel().';

const standardNames: Readonly<Record<string, string>> = {
  input_ids: 'input_ids',
  attention_mask: 'attention_mask',
  position_ids: 'position_ids',
  past_key_names: 'past_key_values.%d.key',
  past_value_names: 'past_key_values.%d.value',
  logits: 'logits',
  present_key_names: 'present.%d.key',
  present_value_names: 'present.%d.value',
};

/**
 * A Hugging Face style config (the keys `readModelConfig` reads) from onnxruntime-genai's
 * `genai_config.json`, and the decoder graph it names. The graph's I/O names must be the standard ones
 * (the genai model builder writes them); others are refused, naming the difference.
 */
export function configFromGenai(
  genai: Json,
  file = 'genai_config.json',
): { config: Record<string, unknown>; graphFile: string } {
  const model = genai.model as Json | undefined;
  const decoder = model?.decoder as Json | undefined;
  if (
    typeof model !== 'object' ||
    model === null ||
    typeof decoder !== 'object' ||
    decoder === null
  ) {
    throw new ModelFormatError({
      path: file,
      message: 'has no "model.decoder" section. It is not an onnxruntime-genai decoder config.',
    });
  }
  const graphFile = decoder.filename;
  if (typeof graphFile !== 'string' || graphFile.length === 0 || graphFile.includes('..')) {
    throw new ModelFormatError({
      path: file,
      message: `"model.decoder.filename" must name the graph file inside the folder, got ${JSON.stringify(graphFile)}.`,
    });
  }
  for (const section of ['inputs', 'outputs']) {
    const names = (decoder[section] ?? {}) as Record<string, unknown>;
    for (const [key, name] of Object.entries(names)) {
      const expected = standardNames[key];
      if (expected === undefined) {
        throw new ModelFormatError({
          path: file,
          message: `"model.decoder.${section}.${key}" (${JSON.stringify(name)}) is an ${section.slice(0, -1)} decodekit does not know how to handle. decodekit loads genai decoders with the inputs ${Object.keys(standardNames).slice(0, 5).join(', ')}.`,
        });
      }
      if (name !== expected) {
        throw new ModelFormatError({
          path: file,
          message: `"model.decoder.${section}.${key}" is ${JSON.stringify(name)}; decodekit feeds graphs by the standard name ${JSON.stringify(expected)}. Rename the graph's ${section} or re-export it with the standard names.`,
        });
      }
    }
  }
  const config: Record<string, unknown> = {
    model_type: model.type,
    vocab_size: model.vocab_size,
    max_position_embeddings: model.context_length,
    bos_token_id: model.bos_token_id,
    eos_token_id: model.eos_token_id,
    pad_token_id: model.pad_token_id,
    num_hidden_layers: decoder.num_hidden_layers,
    hidden_size: decoder.hidden_size,
    num_attention_heads: decoder.num_attention_heads,
    num_key_value_heads: decoder.num_key_value_heads,
    head_dim: decoder.head_size,
  };
  for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key];
  return { config, graphFile };
}
